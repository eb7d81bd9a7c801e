/**
 * `tune`: choosing retention settings. Runs a scenario (or recorded traffic) under every setting
 * of a grid, for each seed, and weighs what each setting costs (sim/check/costs.ts): memory against
 * context lost, with refused work disqualifying. Then the Pareto frontier, a recommendation and
 * how sensitive it is to one step in each setting.
 *
 * Runs are independent, so they spread over worker threads (sim/tune/tune-pool.ts); results are put
 * back in grid order and every aggregate is computed in that order, so the outcome is the same
 * bytes whatever the number of jobs.
 */
import { MINUTE_MS, SETTING_KEYS, type RetentionSettings } from '../../src/settings.ts';
import { megabytes, type MemoryModel } from '../check/costs.ts';
import { memoryModel } from '../heap-analysis/memory-model.ts';
import { runScenarioIsolated } from '../runs/isolated/run.ts';
import { runScenario } from '../runs/run.ts';
import type { Scenario } from '../runs/scenario.ts';
import { downsample, type SeriesPoint } from '../report/series.ts';
import { resolveTarget } from '../targets/targets.ts';

/** The grid's axes, in the order tables and the sensitivity list them. */
export const DIMENSIONS = ['ttlMinutes', 'maxActiveSessions', 'maxHistoryMessages', 'maxHistoryTokens'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const DIMENSION_LABELS: Readonly<Record<Dimension, string>> = {
  ttlMinutes: 'TTL (min)',
  maxActiveSessions: 'max sessions',
  maxHistoryMessages: 'max history',
  maxHistoryTokens: 'max tokens',
};

export type Grid = Readonly<Record<Dimension, readonly number[]>>;

/** A recommendation must fit the budget with this much to spare, unless told otherwise. */
export const DEFAULT_MARGIN_PERCENT = 20;
/** Points per chart series: a week sampled every 15 minutes is 672 samples; charts need fewer. */
export const SERIES_POINTS = 168;

export interface TuneInput {
  readonly scenario: Scenario;
  /** What the maintainer named: a scenario file, or a traffic file played as `replay` plays it. */
  readonly source: { readonly kind: 'scenario' | 'traffic'; readonly file: string };
  readonly targetName: string;
  readonly grid: Grid;
  readonly seeds: readonly number[];
  readonly days: number;
  /** Undefined: no memory budget, the recommendation weighs context lost and refusals only. */
  readonly budgetBytes: number | undefined;
  readonly marginPercent: number;
}

/** One run of one setting and seed, as a worker sends it back. */
export interface TuneRun {
  readonly setting: number;
  readonly seed: number;
  readonly verdict: 'pass' | 'fail' | 'error';
  readonly traceHash: string | null;
  readonly firstViolation: string | null;
  readonly peakBytes: number;
  readonly p95Bytes: number;
  readonly coldResumes: number;
  readonly droppedHistoryMessages: number;
  readonly trimmedMessages: number;
  readonly lostMessages: number;
  readonly refusedSessions: number;
  /** Only for the first seed: what the charts draw. */
  readonly series: readonly SeriesPoint[] | null;
}

export const COST_FIELDS = ['peakBytes', 'p95Bytes', 'coldResumes', 'droppedHistoryMessages', 'trimmedMessages', 'lostMessages', 'refusedSessions'] as const;
export type CostField = (typeof COST_FIELDS)[number];

/** A cost over the seeds: the mean and its spread. */
export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

export interface SettingOutcome {
  readonly index: number;
  readonly values: Readonly<Record<Dimension, number>>;
  readonly settings: RetentionSettings;
  readonly runs: readonly TuneRun[];
  readonly costs: Readonly<Record<CostField, Spread>>;
  /** Every seed passed every invariant. */
  readonly passed: boolean;
  readonly fits: boolean;
  /** Why it does not fit (empty when it does). */
  readonly reasons: readonly string[];
  readonly onFrontier: boolean;
}

export interface SensitivityStep {
  readonly dimension: Dimension;
  readonly direction: 'down' | 'up';
  readonly value: number;
  readonly setting: number;
  /** Change from the recommendation: memory in bytes (mean peak), context lost in messages (mean). */
  readonly peakBytesChange: number;
  readonly lostMessagesChange: number;
  readonly coldResumesChange: number;
  readonly refusedSessions: number;
  readonly fits: boolean;
}

export interface TuneResult {
  readonly input: TuneInput;
  readonly model: MemoryModel;
  readonly settings: readonly SettingOutcome[];
  /** Indices of the settings on the frontier, by growing memory. */
  readonly frontier: readonly number[];
  readonly recommended: number | undefined;
  readonly sensitivity: readonly SensitivityStep[];
}

export interface GridPoint {
  readonly index: number;
  readonly values: Readonly<Record<Dimension, number>>;
  readonly settings: RetentionSettings;
}

/** Every combination of the grid, the last dimension varying fastest. */
export function gridPoints(grid: Grid, base: RetentionSettings): GridPoint[] {
  let combos: Record<Dimension, number>[] = [{} as Record<Dimension, number>];
  for (const dimension of DIMENSIONS) combos = combos.flatMap((combo) => grid[dimension].map((value) => ({ ...combo, [dimension]: value })));
  return combos.map((values, index) => ({
    index,
    values,
    settings: Object.freeze({
      ...base,
      ttlMs: values.ttlMinutes * MINUTE_MS,
      maxActiveSessions: values.maxActiveSessions,
      maxHistoryMessages: values.maxHistoryMessages,
      maxHistoryTokens: values.maxHistoryTokens,
    }),
  }));
}

/** One grid run: what a worker does for each task. */
export async function tuneRun(scenario: Scenario, targetName: string, point: GridPoint, seed: number, days: number, withSeries: boolean): Promise<TuneRun> {
  const target = await resolveTarget(targetName);
  // claude-mem's code runs only in a child process of its own (sim/targets/claude-mem/isolation.ts).
  const outcome = await (target.isolated ? runScenarioIsolated : runScenario)(scenario, { target, seed, days, settings: { values: point.settings, file: '(tune grid)' }, stop: 'never' });
  const costs = outcome.costs;
  const model = memoryModel();
  return {
    setting: point.index,
    seed,
    verdict: outcome.verdict,
    traceHash: outcome.result?.traceHash ?? null,
    firstViolation: outcome.error ?? (outcome.firstViolation ? `${outcome.firstViolation.invariant}: ${outcome.firstViolation.detail}` : null),
    peakBytes: costs?.memory.peakBytes ?? 0,
    p95Bytes: costs?.memory.p95Bytes ?? 0,
    coldResumes: costs?.contextLost.coldResumes ?? 0,
    droppedHistoryMessages: costs?.contextLost.droppedHistoryMessages ?? 0,
    trimmedMessages: costs?.contextLost.trimmedMessages ?? 0,
    lostMessages: costs?.contextLost.lostMessages ?? 0,
    refusedSessions: costs?.workRefused.refusedSessions ?? 0,
    series: withSeries && outcome.result ? downsample(outcome.result.samples, model, SERIES_POINTS) : null,
  };
}

/** Runs handed to `execute` in this order; its results may come back in any order. */
export interface TuneTask {
  readonly point: GridPoint;
  readonly seed: number;
  readonly withSeries: boolean;
}

export function tuneTasks(input: TuneInput): TuneTask[] {
  return gridPoints(input.grid, input.scenario.settings).flatMap((point) => input.seeds.map((seed, seedIndex) => ({ point, seed, withSeries: seedIndex === 0 })));
}

/** Judges the grid once every run is back. */
export function judgeGrid(input: TuneInput, runs: readonly TuneRun[], model: MemoryModel = memoryModel()): TuneResult {
  const points = gridPoints(input.grid, input.scenario.settings);
  // Runs arrive in task order (setting, then seed as listed); grouped without assuming it.
  const bySetting: TuneRun[][] = points.map(() => []);
  for (const run of runs) bySetting[run.setting]!.push(run);
  for (const settingRuns of bySetting) settingRuns.sort((a, b) => input.seeds.indexOf(a.seed) - input.seeds.indexOf(b.seed));
  const outcomes = points.map((point) => {
    const settingRuns = bySetting[point.index]!;
    const costs = Object.fromEntries(COST_FIELDS.map((field) => [field, spread(settingRuns.map((run) => run[field]))])) as Record<CostField, Spread>;
    const passed = settingRuns.every((run) => run.verdict === 'pass');
    const reasons: string[] = [];
    if (!passed) reasons.push('violates an invariant');
    if (costs.refusedSessions.max > 0) reasons.push(`refuses sessions (${costs.refusedSessions.max} at most)`);
    if (input.budgetBytes !== undefined && costs.peakBytes.max * (1 + input.marginPercent / 100) > input.budgetBytes) {
      reasons.push(`peak ${megabytes(costs.peakBytes.max)} MB + ${input.marginPercent}% exceeds ${megabytes(input.budgetBytes)} MB`);
    }
    return { index: point.index, values: point.values, settings: point.settings, runs: settingRuns, costs, passed, fits: reasons.length === 0, reasons, onFrontier: false };
  });
  const frontier = paretoFrontier(outcomes);
  const withFrontier = outcomes.map((outcome) => ({ ...outcome, onFrontier: frontier.includes(outcome.index) }));
  const recommended = recommend(withFrontier);
  return {
    input,
    model,
    settings: withFrontier,
    frontier,
    recommended,
    sensitivity: recommended === undefined ? [] : sensitivity(input.grid, withFrontier, recommended),
  };
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { mean: 0, min: 0, max: 0 };
  let sum = 0;
  for (const value of values) sum += value;
  return { mean: sum / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Context lost is weighed in two parts, most important first: cold resumes (a conversation that
 * went on had to start over without its history: what TTL and cap decide), then lost messages
 * (dropped with those histories plus trimmed by the history bound: what the history bound
 * decides). The two cannot be summed into one number: a message trimmed is the oldest of a
 * window the agent still has, a message dropped at a cold resume is among the most recent, and
 * with any bound almost every message ends up either trimmed or dropped, so their sum barely
 * moves with the TTL.
 */
export const OBJECTIVES = ['peakBytes', 'coldResumes', 'lostMessages'] as const;

/**
 * The Pareto frontier: settings that no other setting matches or beats on mean peak memory, mean
 * cold resumes and mean lost messages, beating it on at least one. By growing memory.
 */
export function paretoFrontier(outcomes: readonly Pick<SettingOutcome, 'index' | 'costs'>[]): number[] {
  const dominates = (a: Pick<SettingOutcome, 'costs'>, b: Pick<SettingOutcome, 'costs'>) =>
    OBJECTIVES.every((field) => a.costs[field].mean <= b.costs[field].mean) && OBJECTIVES.some((field) => a.costs[field].mean < b.costs[field].mean);
  return outcomes
    .filter((candidate) => !outcomes.some((other) => dominates(other, candidate)))
    .sort((a, b) => a.costs.peakBytes.mean - b.costs.peakBytes.mean || a.index - b.index)
    .map((outcome) => outcome.index);
}

/** The least context lost among the settings that fit (cold resumes, then lost messages); ties go to the smaller memory, then to grid order. */
export function recommend(outcomes: readonly SettingOutcome[]): number | undefined {
  const fitting = outcomes.filter((outcome) => outcome.fits);
  fitting.sort(
    (a, b) =>
      a.costs.coldResumes.mean - b.costs.coldResumes.mean ||
      a.costs.lostMessages.mean - b.costs.lostMessages.mean ||
      a.costs.peakBytes.mean - b.costs.peakBytes.mean ||
      a.index - b.index,
  );
  return fitting[0]?.index;
}

/** One step down and up in each setting the grid varies, the others held at the recommendation. */
export function sensitivity(grid: Grid, outcomes: readonly SettingOutcome[], recommended: number): SensitivityStep[] {
  const chosen = outcomes[recommended]!;
  const steps: SensitivityStep[] = [];
  for (const dimension of DIMENSIONS) {
    const values = grid[dimension];
    const at = values.indexOf(chosen.values[dimension]);
    for (const [direction, offset] of [['down', -1], ['up', 1]] as const) {
      const value = values[at + offset];
      if (value === undefined) continue;
      const neighbour = outcomes.find((outcome) => DIMENSIONS.every((other) => outcome.values[other] === (other === dimension ? value : chosen.values[other])))!;
      steps.push({
        dimension,
        direction,
        value,
        setting: neighbour.index,
        peakBytesChange: neighbour.costs.peakBytes.mean - chosen.costs.peakBytes.mean,
        lostMessagesChange: neighbour.costs.lostMessages.mean - chosen.costs.lostMessages.mean,
        coldResumesChange: neighbour.costs.coldResumes.mean - chosen.costs.coldResumes.mean,
        refusedSessions: neighbour.costs.refusedSessions.max,
        fits: neighbour.fits,
      });
    }
  }
  return steps;
}

/** The recommendation as claude-mem's own settings file: string values, its key names. */
export function claudeMemSettings(settings: RetentionSettings): string {
  const body: Record<string, string> = {};
  for (const spec of SETTING_KEYS) body[spec.key] = String(settings[spec.field] / spec.scale);
  return `${JSON.stringify(body, null, 2)}\n`;
}
