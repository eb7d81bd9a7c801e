/**
 * One claude-mem run in an isolated child process (see ./claude-mem.ts): loads the checkout here,
 * runs the scenario, and answers with progress and the outcome over IPC.
 *
 * The watchdog is a thread of this process: the bridge bumps a shared counter each time the
 * checker reads the target (after every simulated event); when it has not moved for the limit,
 * claude-mem's code has not returned (an endless loop blocks this thread, and with it any reply),
 * so the watchdog thread writes why into the run's folder and kills the process; the parent reads
 * it there. A thread, not a timer here: a long simulation may not give this thread's timers a turn.
 * The same thread ends the child when leaksim is gone (the child was re-parented).
 */
import { Worker } from 'node:worker_threads';
import { InputError } from '../../../src/input-error.ts';
import { bridgeProgress } from '../../targets/claude-mem/bridge.ts';
import { FOLDER_ENV } from '../../targets/claude-mem/isolation.ts';
import { errorText } from '../../targets/target-guard.ts';
import { resolveTarget } from '../../targets/targets.ts';
import { runScenario } from '../run.ts';
import { watchdogFile, type ClaudeMemReply, type ClaudeMemRequest } from './claude-mem.ts';

const post = (reply: ClaudeMemReply): void => void process.send!(reply);

/** The watchdog thread: polls the counter, and on a stall writes the reason and kills this process. */
const WATCHDOG_THREAD = `
const { workerData } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
const counter = new Int32Array(workerData.buffer);
let last = -1, since = Date.now();
setInterval(() => {
  // leaksim is gone (killed): a run nobody waits for must not go on.
  if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL');
  const now = Atomics.load(counter, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  if (Date.now() - since < workerData.limitMs) return;
  writeFileSync(workerData.file, workerData.message);
  process.kill(process.pid, 'SIGKILL');
}, 250);
`;

function startWatchdog(limitMs: number): Worker {
  const buffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  bridgeProgress.counter = new Int32Array(buffer);
  const message = `claude-mem's code did not return within ${limitMs / 1_000} s (an endless loop?); the run was stopped`;
  const watchdog = new Worker(WATCHDOG_THREAD, { eval: true, execArgv: [], workerData: { buffer, limitMs, file: watchdogFile(process.env[FOLDER_ENV]!), message, parent: process.ppid } });
  watchdog.unref();
  return watchdog;
}

process.once('message', (request: ClaudeMemRequest) => {
  let watchdog: Worker | undefined;
  void (async () => {
    let release = '';
    try {
      const target = await resolveTarget(request.target);
      release = `claude-mem ${(target as { checkout?: { version: string } }).checkout?.version}: `;
      watchdog = startWatchdog(request.watchdogMs);
      post({ kind: 'started' });
      const outcome = await runScenario(request.scenario, {
        target,
        seed: request.seed,
        ...(request.days !== undefined ? { days: request.days } : {}),
        ...(request.settings ? { settings: request.settings } : {}),
        ...(request.stop ? { stop: request.stop } : {}),
        ...(request.expected ? { expected: request.expected } : {}),
        ...(request.progress ? { onProgress: (nowMs: number, hookEvents: number) => post({ kind: 'progress', nowMs, hookEvents }) } : {}),
      });
      // An error (a failed route, a bridge that does not fit) is leaksim's inability to run this
      // release, never a verdict about it: reported as one line and exit code 2, naming the release.
      post({ kind: 'outcome', outcome: outcome.verdict === 'error' ? { ...outcome, error: `${release}${outcome.error}`, errorFromTargetCode: true } : outcome });
    } catch (error) {
      if (error instanceof InputError) post({ kind: 'input-error', file: error.file, line: error.line, field: error.field, problem: error.problem });
      else post({ kind: 'crash', message: `${release}${errorText(error).replace(/^Error: /, '')}` });
    } finally {
      void watchdog?.terminate();
    }
  })();
});
process.on('disconnect', () => process.exit(0));
