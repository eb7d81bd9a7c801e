/**
 * Runs a scenario against a user's adapter in a worker thread, under a watchdog: user code that
 * never returns (a synchronous endless loop in a route) cannot be interrupted in the thread it
 * runs in, so it runs in another one, and this thread ends it.
 *
 * The adapter's guard (sim/targets/target-guard.ts) bumps a shared counter at every entry to and exit from
 * the adapter's code and stores which call is in progress. This thread polls the counter; when it
 * has not moved for the watchdog's limit, the worker is terminated and the run ends as an error
 * naming the call and the seed. The limit is wall time, and deliberately so: it never touches what
 * is simulated (the run inside the worker is the same code, with the same trace, as a run in this
 * thread), it only ends a run that would otherwise never end. It is generous (10 s for one call;
 * three times that with no call in progress, where the stall may be a timer callback of the
 * adapter's), and LEAKSIM_WATCHDOG_SECONDS changes it.
 *
 * Built-in targets are leaksim's own code and run in this thread, as before.
 */
import { Worker } from 'node:worker_threads';
import { runClaudeMemIsolated } from './claude-mem.ts';
import { InputError } from '../../../src/input-error.ts';
import { workerEntry } from '../../engine/package-root.ts';
import type { RetentionSettings } from '../../../src/settings.ts';
import { outcomeBase, reproduceCommand, runScenario, targetFault, type RunOptions, type RunOutcome } from '../run.ts';
import type { Scenario } from '../scenario.ts';
import { importSeconds } from '../../targets/adapter-probe.ts';
import { resolveTarget } from '../../targets/targets.ts';
import { TARGET_METHODS, WATCH_CALL, WATCH_PROGRESS, WATCH_SLOTS } from '../../targets/target-guard.ts';

/** How long one call into the adapter may run before the watchdog ends the run. */
export const WATCHDOG_CALL_SECONDS = 10;
/** With no call in progress, the stall is given this many times as long. */
export const WATCHDOG_IDLE_FACTOR = 3;
const POLL_MS = 250;

export interface WorkerRequest {
  readonly scenario: Scenario;
  readonly target: string;
  readonly seed: number;
  readonly days?: number;
  readonly settings?: { readonly values: RetentionSettings; readonly file: string };
  readonly stop?: RunOptions['stop'];
  readonly expected?: RunOptions['expected'];
  readonly progress: boolean;
  readonly watch: SharedArrayBuffer;
}

export type WorkerReply =
  | { readonly kind: 'started' }
  | { readonly kind: 'progress'; readonly nowMs: number; readonly hookEvents: number }
  | { readonly kind: 'outcome'; readonly outcome: RunOutcome }
  | { readonly kind: 'input-error'; readonly file: string; readonly line: number; readonly field: string; readonly problem: string }
  | { readonly kind: 'crash'; readonly message: string };

/** The watchdog limit in seconds: WATCHDOG_CALL_SECONDS, or LEAKSIM_WATCHDOG_SECONDS when set. */
export function watchdogSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.LEAKSIM_WATCHDOG_SECONDS;
  if (given === undefined || given === '') return WATCHDOG_CALL_SECONDS;
  const seconds = Number(given);
  if (!/^\d+(\.\d+)?$/.test(given) || !(seconds > 0) || seconds > 3_600) {
    throw new InputError('LEAKSIM_WATCHDOG_SECONDS', 0, '', `expected a number of seconds above 0 and at most 3600, got ${JSON.stringify(given)}`);
  }
  return seconds;
}

/** runScenario, in a worker thread under the watchdog when the target is a user's adapter. */
export async function runScenarioIsolated(scenario: Scenario, options: RunOptions, limitSeconds = watchdogSeconds()): Promise<RunOutcome> {
  if (options.target.isolated) {
    const outcome = await runClaudeMemIsolated(scenario, options, limitSeconds * 1_000 * WATCHDOG_IDLE_FACTOR, (message) => failedOutcome(scenario, options, message));
    return outcome.reproduce ? outcome : { ...outcome, reproduce: reproduceCommand(scenario, options) };
  }
  if (!options.target.guard) return runScenario(scenario, options);
  const watchBuffer = new SharedArrayBuffer(WATCH_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const watch = new Int32Array(watchBuffer);
  const request: WorkerRequest = {
    scenario,
    target: options.target.name,
    seed: options.seed,
    ...(options.days !== undefined ? { days: options.days } : {}),
    ...(options.settings ? { settings: options.settings } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
    ...(options.expected ? { expected: options.expected } : {}),
    // Always: the last simulated time seen places a watchdog stop in the report.
    progress: true,
    watch: watchBuffer,
  };
  const worker = new Worker(workerEntry('sim/runs/isolated/worker'), { workerData: request, env: { ...process.env } });
  return new Promise<RunOutcome>((resolve, reject) => {
    let armed = false;
    let lastProgress = -1;
    let stalePolls = 0;
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      void worker.terminate();
      settle();
    };
    // Whatever stops the worker is the target's doing (its code runs there and nothing else of a user's
    // does): a verdict under target-responds, placed at the last simulated time the worker reported.
    let reachedMs = 0;
    const failed = (message: string): RunOutcome => targetFault(outcomeBase(scenario, options), 'target-responds', reachedMs, message);
    // Until the worker has loaded the adapter (it was probed, but it may behave differently on a
    // second import), the import time limit applies.
    const importLimitMs = importSeconds() * 1_000;
    let loadingPolls = 0;
    const poll = setInterval(() => {
      if (!armed) {
        loadingPolls += 1;
        if (loadingPolls * POLL_MS >= importLimitMs) finish(() => resolve(failed(`the adapter did not finish loading within ${importLimitMs / 1_000} s in the run's thread (an endless loop at import?); the run was stopped`)));
        return;
      }
      const progress = Atomics.load(watch, WATCH_PROGRESS);
      if (progress !== lastProgress) {
        lastProgress = progress;
        stalePolls = 0;
        return;
      }
      stalePolls += 1;
      const call = Atomics.load(watch, WATCH_CALL);
      const limitMs = limitSeconds * 1_000 * (call === 0 ? WATCHDOG_IDLE_FACTOR : 1);
      if (stalePolls * POLL_MS < limitMs) return;
      const what = call === 0 ? "the adapter's code outside a route (a timer callback?)" : `${TARGET_METHODS[call - 1]}()`;
      const seconds = limitMs / 1_000;
      finish(() => resolve(failed(`${what} did not return within ${seconds} s (an endless loop?); the run was stopped`)));
    }, POLL_MS);
    worker.on('message', (reply: WorkerReply) => {
      switch (reply.kind) {
        case 'started':
          armed = true;
          return;
        case 'progress':
          reachedMs = reply.nowMs;
          if (options.onProgress) options.onProgress(reply.nowMs, reply.hookEvents);
          return;
        case 'outcome':
          finish(() => resolve(reply.outcome));
          return;
        case 'input-error':
          finish(() => reject(new InputError(reply.file, reply.line, reply.field, reply.problem)));
          return;
        case 'crash':
          finish(() => resolve(failed(`the run failed: ${reply.message}`)));
          return;
      }
    });
    worker.on('error', (error) => finish(() => resolve(failed(`the adapter's code failed outside the run: ${error.message.split('\n')[0]}`))));
    worker.on('exit', (code) => finish(() => resolve(failed(`the adapter ended the run's thread (exit code ${code}) before the run finished: process.exit() in the adapter, or a promise the run waits on that can never settle`))));
  });
}

/** The outcome of a run the watchdog or a crash ended: an error verdict, in one line, with the seed. */
function failedOutcome(scenario: Scenario, options: RunOptions, message: string): RunOutcome {
  return {
    ...outcomeBase(scenario, options),
    verdict: 'error',
    asExpected: false,
    firstViolation: undefined,
    error: `${message} (seed ${options.seed})`,
    errorFromTargetCode: true,
    result: undefined,
    costs: undefined,
  };
}

/**
 * One scenario × seed against the claude-mem checkout at `checkoutPath`, isolated as every
 * claude-mem run is: the stable entry point for code that runs many checkouts (`leaksim history`).
 * A checkout leaksim cannot run throws one InputError (exit 2 at the edge); a run that cannot
 * finish comes back as an `error` outcome whose `error` names the release and what failed.
 * Which files make up the checkout's session path: `checkoutSessionPath` (targets/claude-mem/load.ts).
 */
export async function runClaudeMemCheckout(checkoutPath: string, scenario: Scenario, seed: number, options: Pick<RunOptions, 'stop' | 'expected' | 'days' | 'onProgress'> = {}): Promise<RunOutcome> {
  const target = await resolveTarget(`claude-mem:${checkoutPath}`);
  return runScenarioIsolated(scenario, { target, seed, ...options });
}
