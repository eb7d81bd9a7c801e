/**
 * Runs a scenario against a target for one seed and judges the outcome against the scenario's
 * expectation: `runScenario(scenario, { target, seed })`.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../engine/package-root.ts';
import { parseSettings, settingsFileText, type RetentionSettings } from '../../src/settings.ts';
import { InputError } from '../../src/input-error.ts';
import { RunawayTimersError } from '../engine/clock.ts';
import { formatSimTime } from '../engine/sim-time.ts';
import { errorText, type GuardFailure } from '../targets/target-guard.ts';
import { runCosts, type RunCosts } from '../check/costs.ts';
import { memoryModel } from '../heap-analysis/memory-model.ts';
import { RunawayGeneratorsError, simulate, type Checkpoint, type SimulationInput, type SimulationResult } from './driver.ts';
import type { HookEvent } from '../engine/events.ts';
import type { Violation } from '../check/invariants.ts';
import { replayTraffic } from './replay.ts';
import type { Scenario, Verdict } from './scenario.ts';
import { overriddenSettings } from '../targets/target-description.ts';
import { ADAPTER_PATH, type NamedTarget } from '../targets/targets.ts';
import { DAY_MS, HOUR_MS, teamTraffic } from '../engine/traffic.ts';

/** Every run starts on Monday 2026-01-05, 00:00 UTC: day 0 of every scenario is a Monday. */
export const ORIGIN_EPOCH_MS = Date.UTC(2026, 0, 5);

export interface RunOptions {
  readonly target: NamedTarget;
  readonly seed: number;
  /** Overrides the scenario's length. */
  readonly days?: number;
  /** Overrides the scenario's settings (from `--settings FILE`). */
  readonly settings?: { readonly values: RetentionSettings; readonly file: string };
  /**
   * `first-violation` (default): stop at the first violation. `verdict`: stop as soon as the
   * verdict against the expectation is settled. `never`: run to the end, recording everything.
   */
  readonly stop?: 'first-violation' | 'verdict' | 'never';
  readonly checkpoint?: Checkpoint;
  /** Every message owns its characters (see sim/engine/content.ts): what a heap measurement needs. */
  readonly flatContent?: boolean;
  readonly onProgress?: (nowMs: number, hookEvents: number) => void;
  /** The verdict expected of this run, for a target the scenario cannot name (an adapter under `check --target`). */
  readonly expected?: Verdict;
}

export interface RunOutcome {
  readonly scenario: string;
  readonly scenarioFile: string;
  readonly target: string;
  readonly seed: number;
  readonly days: number;
  /** The settings the run used (the scenario's, or --settings over them). */
  readonly settings: RetentionSettings;
  readonly expected: Verdict | undefined;
  /**
   * `fail` includes a run its target stopped (a target fault: it threw, rejected, spun, never
   * settled, exited): firstViolation names `target-responds`, `no-restart-storm` or `clean-shutdown`,
   * and `result` is undefined. `error`: the run could not be made at all (createTarget failed:
   * bad input, exit 2) or leaksim itself failed (a crashed check worker).
   */
  readonly verdict: 'pass' | 'fail' | 'error';
  /** Undefined when the scenario states no expectation for this target. */
  readonly asExpected: boolean | undefined;
  readonly firstViolation: Violation | undefined;
  readonly error: string | undefined;
  /** The adapter's createTarget failed: no target was made, so the CLI reports it as bad input (one line, exit 2). */
  readonly errorFromTargetCode?: boolean;
  readonly result: SimulationResult | undefined;
  /** What the settings cost (sim/check/costs.ts); undefined when the run could not finish. */
  readonly costs: RunCosts | undefined;
  readonly reproduce: string;
  /** What the target's declarations changed in the judging, for reports to state. */
  readonly declarations: RunDeclarations;
}

export interface RunDeclarations {
  /** Settings the target fixes itself that differ from the run's: the checker judged with `fixed`. */
  readonly overriddenSettings: Readonly<Record<string, { readonly given: number; readonly fixed: number }>>;
  /** Invariants the target switched off, with its reasons. */
  readonly invariantsOff: Readonly<Record<string, string>>;
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunOutcome> {
  const description = options.target.description;
  const base = outcomeBase(scenario, options, overriddenSettings(options.settings?.values ?? scenario.settings, description));
  const { days, settings, expected } = base;
  const guard = options.target.guard;
  guard?.begin();
  const noTarget = (message: string): RunOutcome => ({
    ...base,
    verdict: 'error',
    asExpected: false,
    firstViolation: undefined,
    error: `${message} (seed ${options.seed})`,
    errorFromTargetCode: true,
    result: undefined,
    costs: undefined,
  });
  let stoppedAtMs = 0;
  const fault = (invariant: TargetFaultInvariant, detail: string): RunOutcome => targetFault(base, invariant, stoppedAtMs, detail);
  /** A guard failure: no target at all is bad input; anything after that is the target's verdict. */
  const guardFailure = (failure: GuardFailure): RunOutcome => {
    if (failure.call === 'createTarget') return noTarget(failure.message);
    return fault(failure.call.startsWith('shutdown(') ? 'clean-shutdown' : 'target-responds', failure.message);
  };
  const settingsFile = scenarioSettingsFile(scenario, options);
  let result: SimulationResult;
  try {
    result = await simulate({
      seed: options.seed,
      settings,
      // The target's settings go through claude-mem's settings.json and leaksim's reader of it.
      targetSettings: parseSettings(settingsFile.text, settingsFile.file, settings),
      settingsFile,
      target: options.target.factory,
      traffic: scenarioTraffic(scenario, options.seed, days),
      originEpochMs: ORIGIN_EPOCH_MS,
      agent: scenario.agent,
      faults: scenario.faults,
      sessionEndRoute: scenario.sessionEndRoute,
      end: scenario.end,
      sampleEveryMs: scenario.sampleEveryMs,
      description: options.target.description,
      onStopped: (nowMs) => void (stoppedAtMs = nowMs),
      ...stopRule(options.stop ?? 'first-violation', expected),
      ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
      ...(options.flatContent ? { flatContent: true } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    // Bad input found while running (a traffic file past a bound) is the user's file, not a verdict.
    if (error instanceof InputError) throw error;
    const failure = guard?.failureDetail;
    if (failure) return guardFailure(failure);
    // A target that restarts generators (or fires zero-delay timers) without end: the run cannot go on, and that is its verdict.
    if (error instanceof RunawayGeneratorsError) return fault('no-restart-storm', `${error.message.replace(/, at t=\d+ ms$/, '')}: generators restarted at once, again and again, with no event in between`);
    if (error instanceof RunawayTimersError) return fault('no-restart-storm', error.message.replace(/, at t=\d+ ms$/, ''));
    // An adapter's error that escaped its routes: a timer callback it set, or a promise it started.
    if (guard) return fault('target-responds', `threw ${errorText(error)} outside a route (in a timer callback or a promise it started)`);
    throw error;
  }
  stoppedAtMs = result.endMs;
  const failure = guard?.failureDetail;
  if (failure) return guardFailure(failure);
  // A promise still pending at the run's end outlived the quiet phase (a simulated-time limit: the
  // TTL, the idle timeout and an hour past the last event) or the shutdown that follows it.
  const unsettled = result.stoppedEarly ? undefined : guard?.unsettled();
  if (unsettled) {
    return fault(unsettled.startsWith('shutdown(') ? 'clean-shutdown' : 'target-responds', `${unsettled} never settled: still pending when the run ended at ${formatSimTime(result.endMs)}`);
  }
  const firstViolation = result.violations[0];
  const verdict = result.passed ? 'pass' : 'fail';
  return { ...base, verdict, asExpected: judge(expected, result), firstViolation, error: undefined, result, costs: runCosts(result, memoryModel()) };
}

/** The invariants a target fault is judged under (sim/check/catalogue.ts). */
export type TargetFaultInvariant = 'target-responds' | 'no-restart-storm' | 'clean-shutdown';

export type OutcomeBase = Pick<RunOutcome, 'scenario' | 'scenarioFile' | 'target' | 'seed' | 'days' | 'settings' | 'expected' | 'reproduce' | 'declarations'>;

/** The target as an outcome names it: its name, and its declarations when it was loaded. */
type OutcomeTarget = { readonly name: string; readonly description?: { readonly invariantsOff?: Readonly<Record<string, string>> } };

/**
 * What every outcome of a run states whatever its verdict: the run (scenario, target, seed, days,
 * settings), the verdict expected of it, the command that reproduces it and the target's
 * declarations (the settings it fixes are known only once a run has compared them: `overridden`).
 */
export function outcomeBase(
  scenario: Scenario,
  options: Pick<RunOptions, 'seed' | 'days' | 'settings' | 'stop' | 'expected'> & { readonly target: OutcomeTarget },
  overridden: RunDeclarations['overriddenSettings'] = {},
): OutcomeBase {
  return {
    scenario: scenario.name,
    scenarioFile: scenario.file,
    target: options.target.name,
    seed: options.seed,
    days: options.days ?? scenario.days,
    settings: options.settings?.values ?? scenario.settings,
    expected: options.expected ?? expectationFor(scenario, options.target.name),
    reproduce: reproduceCommand(scenario, options),
    declarations: { overriddenSettings: overridden, invariantsOff: { ...options.target.description?.invariantsOff } },
  };
}

/**
 * A run its target stopped: a verdict like any violation (a ✗ row, the reproduce line, exit 1
 * unless the expect file names the invariant), never bad input and never a pass. `atMs` is the
 * simulated time the run had reached (for a watchdog stop: the last progress seen, or 0).
 */
export function targetFault(base: OutcomeBase, invariant: TargetFaultInvariant, atMs: number, detail: string): RunOutcome {
  const expected = base.expected;
  return {
    ...base,
    verdict: 'fail',
    asExpected: expected === undefined ? undefined : 'failsOn' in expected && expected.failsOn.every((name) => name === invariant),
    firstViolation: { invariant, atMs, detail: `${detail} (seed ${base.seed})` },
    error: undefined,
    result: undefined,
    costs: undefined,
  };
}

/**
 * The settings file a run's target reads: the run's settings (the scenario's, or those read from
 * --settings) written as claude-mem writes settings.json (src/settings.ts, settingsFileText).
 */
export function scenarioSettingsFile(scenario: Scenario, options: Pick<RunOptions, 'settings'>): { readonly file: string; readonly text: string } {
  if (options.settings) return { file: options.settings.file, text: settingsFileText(options.settings.values) };
  return { file: `${scenario.file} (settings, written as settings.json)`, text: settingsFileText(scenario.settings) };
}

export function expectationFor(scenario: Scenario, target: string): Verdict | undefined {
  if (target === 'reference') return scenario.expect.reference;
  if (target === 'baseline') return scenario.expect.baseline;
  if (target === 'twin') return scenario.expect.twin;
  if (target.startsWith('flaw:')) return scenario.expect.flaws[target.slice(5) as keyof Scenario['expect']['flaws']];
  return undefined;
}

/** A `failsOn` verdict holds when every listed invariant was violated (others may be too). */
function judge(expected: Verdict | undefined, result: SimulationResult): boolean | undefined {
  if (!expected) return undefined;
  if ('pass' in expected) return result.passed;
  return expected.failsOn.every((invariant) => (result.violationCounts[invariant] ?? 0) > 0);
}

function stopRule(stop: 'first-violation' | 'verdict' | 'never', expected: Verdict | undefined): Pick<SimulationInput, 'stopWhen'> {
  if (stop === 'never') return {};
  if (stop === 'first-violation' || !expected || 'pass' in expected) return { stopWhen: () => true };
  const wanted = expected.failsOn;
  return { stopWhen: (violated) => wanted.every((invariant) => violated.has(invariant)) };
}

/**
 * The one command that replays this run exactly, run from the project root (PROJECT_ROOT): every
 * flag that shaped the run, and paths that work from there (relative to the root, or absolute
 * outside it).
 */
export function reproduceCommand(scenario: Pick<Scenario, 'file'>, options: Pick<RunOptions, 'seed' | 'days' | 'settings' | 'stop'> & { readonly target: { readonly name: string } }): string {
  const parts = ['npx leaksim run', shellQuote(pathFromRoot(scenario.file)), '--target', shellQuote(targetFromRoot(options.target.name)), '--seed', String(options.seed)];
  if (options.days !== undefined) parts.push('--days', String(options.days));
  if (options.settings) parts.push('--settings', shellQuote(pathFromRoot(options.settings.file)));
  if (options.stop === 'never') parts.push('--keep-going');
  return parts.join(' ');
}

/**
 * Where reproduce lines are run from: leaksim's own repository, or, when leaksim is installed as a
 * dependency (it lives in a node_modules folder), the project that installed it: the folder
 * holding that node_modules, where `npx leaksim` finds it.
 */
export const PROJECT_ROOT = projectRootOf(PACKAGE_ROOT);

export function projectRootOf(packageRoot: string): string {
  const parts = packageRoot.split(sep);
  const at = parts.indexOf('node_modules');
  return at > 0 ? parts.slice(0, at).join(sep) || sep : packageRoot;
}

/** A path as typed, made to work from the project root. */
export function pathFromRoot(path: string): string {
  const absolute = resolve(path);
  const fromRoot = relative(PROJECT_ROOT, absolute);
  return fromRoot === '' || fromRoot.startsWith('..') || isAbsolute(fromRoot) ? absolute : fromRoot;
}

/** A target name for a command line run from the project root: adapter paths become root-relative. */
export function targetFromRoot(name: string): string {
  return ADAPTER_PATH.test(name) ? pathFromRoot(name) : name;
}

export function shellQuote(text: string): string {
  return /^[\w./:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The scenario's hook traffic for one seed, with its worker faults merged in, in time order. */
export function scenarioTraffic(scenario: Scenario, seed: number, days: number): Iterable<HookEvent> {
  const limitMs = days * DAY_MS;
  const traffic: Iterable<HookEvent> =
    scenario.traffic.kind === 'model'
      ? teamTraffic({ ...scenario.traffic.model, days }, seed)
      : replayTraffic(scenario.traffic.path, { repeat: scenario.traffic.repeat, rate: scenario.traffic.rate, untilMs: limitMs });
  const faults: HookEvent[] = [
    ...scenario.faults.workerRestarts.map((moment): HookEvent => ({ kind: 'worker-restart', atMs: Math.round(moment.day * DAY_MS + moment.hour * HOUR_MS) })),
    ...scenario.faults.sleeps.map((sleep): HookEvent => ({ kind: 'sleep', atMs: Math.round(sleep.day * DAY_MS + sleep.hour * HOUR_MS), durationMs: Math.round(sleep.hours * HOUR_MS) })),
  ]
    .filter((event) => event.atMs < limitMs)
    .sort((a, b) => a.atMs - b.atMs);
  return mergeByTime(traffic, faults);
}

/** Merges two time-ordered streams; on a tie the first stream's event comes first. */
export function* mergeByTime(first: Iterable<HookEvent>, second: Iterable<HookEvent>): Generator<HookEvent> {
  const a = first[Symbol.iterator]();
  const b = second[Symbol.iterator]();
  let nextA = a.next();
  let nextB = b.next();
  while (!nextA.done || !nextB.done) {
    if (nextB.done || (!nextA.done && nextA.value.atMs <= nextB.value.atMs)) {
      yield nextA.value as HookEvent;
      nextA = a.next();
    } else {
      yield nextB.value;
      nextB = b.next();
    }
  }
}
