/**
 * The runs of a `check`, spread over all cores: `--jobs N` child processes (default: the machine's
 * available parallelism), each running one scenario × target × seed at a time.
 *
 * Why child processes: a run installs fake timers on its global object and may load a user's
 * adapter; a process of its own keeps both apart from the parent and from other runs, exactly as
 * a run alone would see them, and a crash in one is reported, not shared.
 *
 * Reports do not depend on N: every run is a pure function of scenario, target and seed; outcomes
 * are stored at their plan index and handed on in plan order (`onOutcome` waits for the earlier
 * ones), so the printed lines and the report folder are the same bytes for any N.
 *
 * Dispatch is longest-first by a rough cost estimate (hook events a run may simulate), so that the
 * one long run (the heavy month) starts at once instead of last: on two cores the wall time is then
 * close to half the sum, or the longest run alone when that is longer.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { childExecArgv, leaksimModule } from '../../engine/package-root.ts';
import { formatSimTime } from '../../engine/sim-time.ts';
import { InputError } from '../../../src/input-error.ts';
import { runScenarioIsolated } from '../isolated/run.ts';
import { expectationFor, outcomeBase, targetFault, type OutcomeBase, type RunOutcome } from '../run.ts';
import type { Scenario, Verdict } from '../scenario.ts';
import { resolveTargetToRunIsolated as resolveTarget } from '../../targets/targets.ts';
import { InterruptedError } from './interrupted.ts';

export { InterruptedError };

/** A check worker's module: compiled JavaScript from the build, so a worker starts without compiling leaksim. */
export const RUN_CHILD_PATH = leaksimModule('sim/runs/pool/run-child');

export interface PlannedRun {
  /** A child reads it again from `scenario.file`: plan scenarios as loaded from their files. */
  readonly scenario: Scenario;
  readonly target: string;
  readonly seed: number;
  /** The verdict expected of a target the scenario cannot name (an adapter under `check --target --expect`). */
  readonly expected?: Verdict;
}

export interface PoolOptions {
  /** How many runs at once; 1 runs them in this process, one after another. */
  readonly jobs: number;
  /** Each outcome in plan order, as soon as it and every earlier one are done. */
  readonly onOutcome?: (outcome: RunOutcome, index: number) => void;
  /** Each outcome as soon as it is done, in whatever order the runs end (with jobs > 1, while others still run). */
  readonly onFinished?: (outcome: RunOutcome, index: number) => void;
  /** Whenever the set of finished or running runs changes: for the one progress line. */
  readonly onProgress?: (progress: PoolProgress) => void;
}

export interface PoolProgress {
  readonly done: number;
  readonly total: number;
  /** Labels of the runs in flight (`heavy-month reference seed 1`), with the simulated time of the in-process one when known. */
  readonly running: readonly string[];
}

/** What a child is asked: one run. */
export interface RunRequest {
  readonly index: number;
  /** As the parent loaded and checked it: a worker neither reads nor validates the file again (nor loads the validator). */
  readonly scenario: Scenario;
  readonly target: string;
  readonly seed: number;
  readonly expected?: Verdict;
  /** Whether to send progress while it runs (the parent shows it on a terminal only). */
  readonly progress: boolean;
}

/** What a child answers: progress now and then, then the outcome (or the error that ended the run). */
export type RunReply =
  | { readonly index: number; readonly progress: { readonly nowMs: number; readonly hookEvents: number } }
  | { readonly index: number; readonly outcome: RunOutcome }
  | { readonly index: number; readonly error: string }
  /** Bad input found during the run (a traffic file past a bound, an adapter that fails to load): rethrown as it was. */
  | { readonly index: number; readonly inputError: { readonly file: string; readonly line: number; readonly field: string; readonly problem: string } };

export function defaultJobs(): number {
  return availableParallelism();
}

export function runLabel(run: PlannedRun): string {
  return `${run.scenario.name} ${run.target} seed ${run.seed}`;
}

/** Runs at once for a plan: 1 runs them in the calling process, one after another; more, each in a child process. */
export function poolJobs(planRuns: number, jobs: number): number {
  return Math.max(1, Math.min(jobs, planRuns));
}

/** Runs every planned run and returns the outcomes in plan order. */
export async function runPlan(plan: readonly PlannedRun[], options: PoolOptions): Promise<RunOutcome[]> {
  const outcomes: (RunOutcome | undefined)[] = new Array(plan.length).fill(undefined);
  let printed = 0;
  let done = 0;
  const running = new Map<number, string>();
  const report = () => options.onProgress?.({ done, total: plan.length, running: [...running.values()] });
  const progressed = (index: number, nowMs: number, hookEvents: number) => {
    running.set(index, `${runLabel(plan[index]!)} (${formatSimTime(nowMs).replace(/ \d\d:\d\d:\d\d(\.\d+)?$/, '')}, ${hookEvents.toLocaleString('en-US')} hook events)`);
    report();
  };
  const finished = (index: number, outcome: RunOutcome) => {
    outcomes[index] = outcome;
    running.delete(index);
    done += 1;
    options.onFinished?.(outcome, index);
    while (printed < plan.length && outcomes[printed]) {
      options.onOutcome?.(outcomes[printed]!, printed);
      printed += 1;
    }
    report();
  };
  const jobs = poolJobs(plan.length, options.jobs);
  if (jobs === 1) {
    for (const [index, run] of plan.entries()) {
      running.set(index, runLabel(run));
      report();
      const outcome = await runScenarioIsolated(run.scenario, {
        target: await resolveTarget(run.target),
        seed: run.seed,
        stop: 'verdict',
        ...(run.expected ? { expected: run.expected } : {}),
        ...(options.onProgress ? { onProgress: (nowMs: number, hookEvents: number) => progressed(index, nowMs, hookEvents) } : {}),
      });
      finished(index, outcome);
    }
  } else {
    await inChildren(plan, jobs, Boolean(options.onProgress), {
      started: (index) => {
        running.set(index, runLabel(plan[index]!));
        report();
      },
      progressed,
      finished,
    });
  }
  return outcomes as RunOutcome[];
}

/**
 * A rough cost for dispatch order only: the hook events the traffic model may produce over the
 * scenario's days; a run expected to fail stops once its verdict is settled, usually early.
 */
export function estimatedCost(run: PlannedRun): number {
  const { scenario } = run;
  const traffic = scenario.traffic;
  const events =
    traffic.kind === 'model'
      ? scenario.days * traffic.model.developers * traffic.model.sessionsPerDay * traffic.model.promptsPerSession * (1 + traffic.model.toolUsesPerPrompt)
      : scenario.days * 1_000;
  const expected = run.expected ?? expectationFor(scenario, run.target);
  return expected && 'failsOn' in expected ? events / 10 : events;
}

interface RunEvents {
  started(index: number): void;
  progressed(index: number, nowMs: number, hookEvents: number): void;
  finished(index: number, outcome: RunOutcome): void;
}

/**
 * A run whose check worker died under it (killed, crashed, or ended by the target's code: the
 * adapter runs in a worker thread of that process, but process.abort() or a native crash takes the
 * whole process) is a failed run under target-responds, never a pass; a new worker takes its place.
 * A worker that answers with leaksim's own error fails its run as an error (✗, exit 1).
 */
function diedOutcome(run: PlannedRun, how: string): RunOutcome {
  return targetFault(plannedBase(run), 'target-responds', 0, `the check worker running it ${how} before the run finished`);
}

/** A planned run's outcome base, before any target is loaded (so with no declarations of its own). */
function plannedBase(run: PlannedRun): OutcomeBase {
  return outcomeBase(run.scenario, { target: { name: run.target }, seed: run.seed, ...(run.expected ? { expected: run.expected } : {}) });
}

function crashedOutcome(run: PlannedRun, message: string): RunOutcome {
  const base = plannedBase(run);
  return {
    ...base,
    verdict: 'error',
    asExpected: base.expected === undefined ? undefined : false,
    firstViolation: undefined,
    error: `leaksim failed in its check worker: ${message.split('\n')[0]} (seed ${run.seed})`,
    result: undefined,
    costs: undefined,
  };
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

async function inChildren(plan: readonly PlannedRun[], jobs: number, withProgress: boolean, events: RunEvents): Promise<void> {
  const queue = plan.map((run, index) => ({ index, cost: estimatedCost(run) })).sort((a, b) => b.cost - a.cost || a.index - b.index);
  const children = new Set<ChildProcess>();
  /** The plan index each child is running. */
  const current = new Map<ChildProcess, number>();
  const onSignal: Partial<Record<NodeJS.Signals, () => void>> = {};
  try {
    await new Promise<void>((resolvePromise, reject) => {
      let remaining = plan.length;
      let stopped = false;
      const stop = (error: Error) => {
        if (stopped) return;
        stopped = true;
        for (const child of children) child.kill('SIGKILL');
        reject(error);
      };
      const finish = (child: ChildProcess | undefined, index: number, outcome: RunOutcome) => {
        if (child) current.delete(child);
        events.finished(index, outcome);
        remaining -= 1;
        if (remaining === 0) resolvePromise();
      };
      const next = (child: ChildProcess) => {
        if (stopped) return;
        const item = queue.shift();
        if (!item) return;
        const run = plan[item.index]!;
        current.set(child, item.index);
        events.started(item.index);
        const request: RunRequest = { index: item.index, scenario: run.scenario, target: run.target, seed: run.seed, ...(run.expected ? { expected: run.expected } : {}), progress: withProgress };
        child.send(request, (error) => {
          // The child died before it got the request: its 'exit' fails the run.
          if (error) child.kill('SIGKILL');
        });
      };
      const spawn = (): void => {
        const child = fork(RUN_CHILD_PATH, [], {
          execArgv: childExecArgv(),
          serialization: 'advanced',
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        children.add(child);
        child.on('message', (reply: RunReply) => {
          if ('progress' in reply) {
            events.progressed(reply.index, reply.progress.nowMs, reply.progress.hookEvents);
            return;
          }
          if ('inputError' in reply) {
            const { file, line, field, problem } = reply.inputError;
            stop(new InputError(file, line, field, problem));
            return;
          }
          finish(child, reply.index, 'error' in reply ? crashedOutcome(plan[reply.index]!, reply.error) : reply.outcome);
          next(child);
        });
        // A failed send or a dead channel shows up as 'exit' below.
        child.on('error', () => {});
        child.on('exit', (code, signal) => {
          children.delete(child);
          const index = current.get(child);
          if (index === undefined || stopped) return;
          finish(child, index, diedOutcome(plan[index]!, `exited with ${signal ?? `code ${code}`}`));
          if (queue.length > 0) spawn();
        });
        next(child);
      };
      for (const signal of STOP_SIGNALS) {
        onSignal[signal] = () => stop(new InterruptedError(signal, plan.length - remaining, plan.length));
        process.once(signal, onSignal[signal]!);
      }
      for (let slot = 0; slot < jobs; slot += 1) spawn();
    });
  } finally {
    for (const signal of STOP_SIGNALS) if (onSignal[signal]) process.off(signal, onSignal[signal]!);
    for (const child of children) if (child.connected) child.disconnect();
  }
}
