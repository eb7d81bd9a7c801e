/**
 * Joining the report folders of a sharded check (`check --shard i/n` on n machines) into the
 * report of one unsharded check: `mergeShardReports(dirs)` returns the Report that `writeReports`
 * writes, and its summary.md, summary.json, junit.xml and metrics/ are the same bytes as those of
 * the same check run whole.
 *
 * The report folder is the only thing shards hand over: each run comes back from its entry in
 * summary.json and its metrics CSV. Shard i of n holds plan positions i−1, i−1+n, i−1+2n, … in
 * order, so the plan order is restored by taking one run from each shard in turn. Flaw coverage
 * is recomputed over all runs, judged as the unsharded check would judge it.
 */
import { readBoundedText } from '../../src/bounded-read.ts';

/** A shard's summary.json or metrics file: what one run may write, with room to spare. */
export const MAX_REPORT_FILE_BYTES = 256 * 1024 * 1024;
import { join } from 'node:path';
import { FLAW_NAMES, type FlawName } from '../../src/baseline/flaws.ts';
import { InputError } from '../../src/input-error.ts';
import { flawCoverage, METRIC_COLUMNS, REPORT_FORMAT_VERSION, type Report, type ReportScope } from './report.ts';
import type { MetricSample, SimulationResult } from '../runs/driver.ts';
import type { Violation } from '../check/invariants.ts';
import type { RunOutcome } from '../runs/run.ts';
import { type RunCosts } from '../check/costs.ts';
import { memoryModel } from '../heap-analysis/memory-model.ts';
import type { RetentionSettings } from '../../src/settings.ts';
import type { Verdict } from '../runs/scenario.ts';
import { DAY_MS } from '../engine/traffic.ts';

interface ViolationEntry {
  readonly invariant: string;
  readonly atMs: number;
  readonly sessionDbId: number | null;
  readonly detail: string;
}

/** A run as summary.json stores it. */
interface RunEntry {
  readonly scenario: string;
  readonly target: string;
  readonly seed: number;
  readonly days: number;
  /** As settingsJson writes them (sim/check/costs.ts). */
  readonly settings: Readonly<Record<string, number>>;
  readonly costs: { readonly memory: { readonly peakBytes: number; readonly p95Bytes: number }; readonly contextLost: RunCosts['contextLost']; readonly workRefused: RunCosts['workRefused'] } | null;
  readonly expected: 'pass' | { readonly failsOn: readonly string[] } | null;
  readonly verdict: 'pass' | 'fail' | 'error';
  readonly asExpected: boolean | null;
  readonly traceHash: string | null;
  readonly firstViolation: ViolationEntry | null;
  /** The first violation of each expected invariant (written by reports that show them). */
  readonly expectedViolations?: readonly ViolationEntry[];
  readonly error: string | null;
  readonly violationCounts: Record<string, number>;
  /** Every violated invariant: count and first occurrence, in the order they first happened. */
  readonly violated?: readonly { readonly invariant: string; readonly count: number; readonly first: ViolationEntry }[];
  readonly warnings?: SimulationResult['warnings'];
  readonly endMs?: number | null;
  readonly stoppedEarly?: boolean | null;
  readonly overriddenSettings?: RunOutcome['declarations']['overriddenSettings'];
  readonly invariantsOff?: RunOutcome['declarations']['invariantsOff'];
  readonly hookEvents: SimulationResult['hookEvents'] | null;
  readonly agentEvents: number | null;
  readonly totals: SimulationResult['totals'] | null;
  readonly peaks: SimulationResult['peaks'] | null;
  readonly reproduce: string;
  readonly metrics: string | null;
}

interface ShardSummary {
  readonly dir: string;
  readonly file: string;
  readonly scope: ReportScope & { readonly shard: NonNullable<ReportScope['shard']> };
  readonly runs: readonly RunEntry[];
}

export function mergeShardReports(dirs: readonly string[]): Report {
  if (dirs.length === 0) throw new InputError('leaksim merge', 0, '', 'expected the report folders of every shard of one check');
  const shards = dirs.map(readShard).sort((a, b) => a.scope.shard.index - b.scope.shard.index);
  const first = shards[0]!;
  const { count, planRuns } = first.scope.shard;
  for (const shard of shards) {
    const other = shard.scope;
    if (other.shard.count !== count || other.shard.planRuns !== planRuns || other.shard.plan !== first.scope.shard.plan || other.selection !== first.scope.selection) {
      throw new InputError(shard.file, 0, 'scope', `is shard ${other.shard.index}/${other.shard.count} of a check of ${other.shard.planRuns} runs (${other.selection ?? 'the full gate'}), but ${first.file} is shard ${first.scope.shard.index}/${count} of ${planRuns} runs (${first.scope.selection ?? 'the full gate'}): not the same check`);
    }
  }
  const indexes = shards.map((shard) => shard.scope.shard.index);
  const duplicate = indexes.find((index, position) => indexes.indexOf(index) !== position);
  if (duplicate !== undefined) throw new InputError('leaksim merge', 0, '', `shard ${duplicate}/${count} is given twice (${shards.filter((shard) => shard.scope.shard.index === duplicate).map((shard) => shard.dir).join(', ')})`);
  const missing = Array.from({ length: count }, (_, position) => position + 1).filter((index) => !indexes.includes(index));
  if (missing.length) throw new InputError('leaksim merge', 0, '', `missing shard${missing.length === 1 ? '' : 's'} ${missing.map((index) => `${index}/${count}`).join(', ')}: every shard of the check is needed`);
  for (const shard of shards) {
    const expectedRuns = Math.floor((planRuns - shard.scope.shard.index) / count) + 1;
    if (shard.runs.length !== expectedRuns) throw new InputError(shard.file, 0, 'runs', `holds ${shard.runs.length} runs; shard ${shard.scope.shard.index}/${count} of ${planRuns} runs has ${expectedRuns}`);
  }
  const outcomes: RunOutcome[] = [];
  for (let position = 0; position < planRuns; position += 1) {
    const shard = shards[position % count]!;
    outcomes.push(outcomeOf(shard, shard.runs[Math.floor(position / count)]!));
  }
  const selection = first.scope.selection;
  // An adapter's check (check --target) has no flaw table: the flaws are leaksim's own.
  if (first.scope.target !== undefined) {
    return { command: 'check', outcomes, ...(selection === null ? {} : { scope: { selection, shard: null, flawsNotJudged: [], target: first.scope.target } }) };
  }
  const judged = selection === null ? FLAW_NAMES : FLAW_NAMES.filter((flaw) => outcomes.some((outcome) => outcome.target === `flaw:${flaw}`));
  const scope: ReportScope | undefined = selection === null ? undefined : { selection, shard: null, flawsNotJudged: FLAW_NAMES.filter((flaw: FlawName) => !judged.includes(flaw)) };
  return { command: 'check', outcomes, flaws: flawCoverage(outcomes, judged), ...(scope ? { scope } : {}) };
}

function readShard(dir: string): ShardSummary {
  const file = join(dir, 'summary.json');
  let body: Record<string, any>;
  try {
    body = JSON.parse(readBoundedText(file, MAX_REPORT_FILE_BYTES, 'MAX_REPORT_FILE_BYTES', "a shard's summary.json"));
  } catch (error) {
    if (error instanceof InputError && !/cannot be read \(ENOENT\)/.test(error.problem)) throw error;
    const code = error instanceof InputError ? 'ENOENT' : (error as NodeJS.ErrnoException).code;
    throw new InputError(file, 0, '', code ? `cannot be read (${code}): expected the report folder of a check --shard run` : `is not valid JSON (${(error as Error).message})`);
  }
  if (body.leaksimReport !== REPORT_FORMAT_VERSION) throw new InputError(file, 0, 'leaksimReport', `is ${JSON.stringify(body.leaksimReport)}; this leaksim merges format ${REPORT_FORMAT_VERSION}`);
  if (body.command !== 'check') throw new InputError(file, 0, 'command', `is ${JSON.stringify(body.command)}; only check reports are merged`);
  const shard = body.scope?.shard;
  if (!shard || typeof shard.index !== 'number' || typeof shard.count !== 'number' || typeof shard.planRuns !== 'number' || typeof shard.plan !== 'string') {
    throw new InputError(file, 0, 'scope.shard', 'is missing: this is not the report of a check --shard run');
  }
  if (!Array.isArray(body.runs)) throw new InputError(file, 0, 'runs', 'must be a list');
  return { dir, file, scope: body.scope, runs: body.runs };
}

function outcomeOf(shard: ShardSummary, run: RunEntry): RunOutcome {
  const expected: Verdict | undefined = run.expected === null ? undefined : run.expected === 'pass' ? { pass: true } : ({ failsOn: run.expected.failsOn } as Verdict);
  const firstViolation = run.firstViolation ? violationOf(run.firstViolation) : undefined;
  // The violations a report shows: the first of each violated invariant, in the order they first
  // happened (the first overall leads); older reports without `violated` give the first overall and
  // the first of each expected invariant.
  const violations: Violation[] = (run.violated ?? []).map((entry) => violationOf(entry.first));
  if (!run.violated) {
    if (firstViolation) violations.push(firstViolation);
    for (const entry of run.expectedViolations ?? []) {
      if (!violations.some((seen) => seen.invariant === entry.invariant)) violations.push(violationOf(entry));
    }
  }
  // What reports read of a simulation result; the rest (every violation, the end time) stays in
  // the shard's process and is not part of any report.
  const result =
    run.traceHash === null
      ? undefined
      : ({
          seed: run.seed,
          traceHash: run.traceHash,
          passed: run.verdict === 'pass',
          violations,
          violationCounts: run.violationCounts,
          hookEvents: run.hookEvents,
          agentEvents: run.agentEvents,
          totals: run.totals,
          peaks: run.peaks,
          warnings: run.warnings ?? [],
          endMs: run.endMs ?? 0,
          stoppedEarly: run.stoppedEarly ?? false,
          samples: run.metrics ? readSamples(join(shard.dir, run.metrics)) : [],
        } as unknown as SimulationResult);
  return {
    scenario: run.scenario,
    scenarioFile: '',
    target: run.target,
    seed: run.seed,
    days: run.days,
    settings: settingsOf(run.settings),
    expected,
    verdict: run.verdict,
    asExpected: run.asExpected ?? undefined,
    firstViolation,
    error: run.error ?? undefined,
    result,
    reproduce: run.reproduce,
    costs: run.costs ? { ...run.costs, memory: { ...run.costs.memory, model: memoryModel() } } : undefined,
    declarations: { overriddenSettings: run.overriddenSettings ?? {}, invariantsOff: run.invariantsOff ?? {} },
  };
}

function violationOf(entry: ViolationEntry): Violation {
  return {
    invariant: entry.invariant,
    atMs: entry.atMs,
    ...(entry.sessionDbId === null ? {} : { sessionDbId: entry.sessionDbId }),
    detail: entry.detail,
  } as Violation;
}

/** A metrics CSV back into samples: the inverse of metricsCsv. */
function readSamples(file: string): MetricSample[] {
  let text: string;
  try {
    text = readBoundedText(file, MAX_REPORT_FILE_BYTES, 'MAX_REPORT_FILE_BYTES', "a shard's metrics file");
  } catch (error) {
    if (error instanceof InputError && !/cannot be read \(ENOENT\)/.test(error.problem)) throw error;
    throw new InputError(file, 0, '', `cannot be read (ENOENT): the shard's report folder is incomplete`);
  }
  const [header, ...rows] = text.trimEnd().split('\n');
  // The last column (retainedBytes) is derived from the others by the memory model: not read back.
  const expectedHeader = ['at', ...METRIC_COLUMNS, 'retainedBytes'].join(',');
  if (header !== expectedHeader) throw new InputError(file, 1, '', `expected the header ${expectedHeader}`);
  return rows.map((row, position) => {
    const [at, ...cells] = row.split(',');
    const values = cells.slice(0, -1);
    if (cells.length !== METRIC_COLUMNS.length + 1 || values.some((value) => !/^\d+$/.test(value)) || parseSimTime(at ?? '') !== Number(values[0])) {
      throw new InputError(file, position + 2, '', 'expected a time (day D HH:MM:SS), then whole numbers starting with the same time in ms, then the retained bytes');
    }
    return Object.fromEntries(METRIC_COLUMNS.map((column, columnIndex) => [column, Number(values[columnIndex])])) as unknown as MetricSample;
  });
}

/** "day 2 14:03:11.250" back to ms from the origin (the inverse of formatSimTime). */
export function parseSimTime(text: string): number | undefined {
  const match = /^day (\d+) (\d\d):(\d\d):(\d\d)(?:\.(\d\d\d))?$/.exec(text);
  if (!match) return undefined;
  const [, day, hours, minutes, seconds, ms] = match;
  return Number(day) * DAY_MS + Number(hours) * 3_600_000 + Number(minutes) * 60_000 + Number(seconds) * 1_000 + Number(ms ?? 0);
}

/** Settings back from their summary.json form (settingsJson in sim/check/costs.ts). */
function settingsOf(json: Readonly<Record<string, number>>): RetentionSettings {
  const minute = 60_000;
  return {
    ttlMs: json.ttlMinutes! * minute,
    maxActiveSessions: json.maxActiveSessions!,
    maxHistoryMessages: json.maxHistoryMessages!,
    maxHistoryTokens: json.maxHistoryTokens!,
    generatorIdleTimeoutMs: json.generatorIdleTimeoutMinutes! * minute,
    generatorRestartDelayMs: json.generatorRestartDelayMs!,
  };
}
