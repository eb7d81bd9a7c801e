/**
 * One run inside a worker thread (see ./run.ts): re-resolves the adapter with the shared watch
 * array, runs the scenario, and posts progress and the outcome back. Bad input found while running
 * comes back as its parts, so the main thread throws the same InputError.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../../../src/input-error.ts';
import { runScenario } from '../run.ts';
import { errorText } from '../../targets/target-guard.ts';
import { resolveTarget } from '../../targets/targets.ts';
import type { WorkerRequest, WorkerReply } from './run.ts';

const request = workerData as WorkerRequest;
const post = (reply: WorkerReply) => parentPort!.postMessage(reply);
try {
  const target = await resolveTarget(request.target, '--target', new Int32Array(request.watch));
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
  post({ kind: 'outcome', outcome });
} catch (error) {
  if (error instanceof InputError) post({ kind: 'input-error', file: error.file, line: error.line, field: error.field, problem: error.problem });
  else post({ kind: 'crash', message: errorText(error) });
}
