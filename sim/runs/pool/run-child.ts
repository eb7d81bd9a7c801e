/**
 * A check worker (see run-pool.ts): started by the parent with an IPC channel (and `--import tsx` when
 * leaksim runs from its sources);
 * runs one requested run at a time and answers with its outcome. It ends when the parent
 * disconnects. Each request carries its scenario as the parent loaded and checked it.
 */
import { InputError } from '../../../src/input-error.ts';
import { runScenarioIsolated } from '../isolated/run.ts';
import type { RunReply, RunRequest } from './run-pool.ts';
import { resolveTargetToRunIsolated as resolveTarget } from '../../targets/targets.ts';

async function answer(request: RunRequest): Promise<RunReply> {
  try {
    const outcome = await runScenarioIsolated(request.scenario, {
      target: await resolveTarget(request.target),
      seed: request.seed,
      stop: 'verdict',
      ...(request.expected ? { expected: request.expected } : {}),
      ...(request.progress ? { onProgress: (nowMs: number, hookEvents: number) => send({ index: request.index, progress: { nowMs, hookEvents } } satisfies RunReply) } : {}),
    });
    return { index: request.index, outcome };
  } catch (error) {
    if (error instanceof InputError) return { index: request.index, inputError: { file: error.file, line: error.line, field: error.field, problem: error.problem } };
    return { index: request.index, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

// A parent that is gone (killed, interrupted) closes the channel: this worker ends quietly, never
// with an EPIPE stack trace.
const send = (reply: RunReply) => {
  if (!process.connected) process.exit(0);
  process.send!(reply, undefined, {}, (error) => {
    if (error) process.exit(0);
  });
};
process.on('message', (request: RunRequest) => {
  void answer(request).then(send);
});
process.on('disconnect', () => process.exit(0));
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => process.exit(0));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(0));
