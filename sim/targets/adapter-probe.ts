/**
 * Checking that an adapter module can be used, before any run starts, without loading it into
 * leaksim's own thread. The module is imported in a worker thread under a time limit: an endless
 * loop at import, a `process.exit()` at import (in a worker it ends only the worker), a top-level
 * await that never settles, or a `setInterval` at import (it dies with the worker) can then neither
 * hang leaksim, nor end it with a misleading exit code, nor keep it alive after the report.
 *
 * What comes back is the module's parsed description; the runs load the module again in their own
 * watchdog worker (sim/runs/isolated/), where the guard watches every call.
 */
import { Worker } from 'node:worker_threads';
import { InputError } from '../../src/input-error.ts';
import type { TargetDescription } from '../../src/contract.ts';
import { workerEntry } from '../engine/package-root.ts';

/** How long importing an adapter (compiling it with tsx included) may take before it is refused. */
export const ADAPTER_IMPORT_SECONDS = 30;

export type ProbeReply =
  | { readonly kind: 'ok'; readonly description: TargetDescription }
  | { readonly kind: 'input-error'; readonly file: string; readonly line: number; readonly field: string; readonly problem: string };

const probed = new Map<string, Promise<TargetDescription>>();

/**
 * The adapter's description, or an InputError (one line, exit 2) when the module cannot be used.
 * A module is probed once per process for the same environment (what it reads at import may differ).
 */
export function probeAdapter(path: string, name: string, limitSeconds = importSeconds()): Promise<TargetDescription> {
  const key = `${path}\0${JSON.stringify(Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
  let result = probed.get(key);
  if (!result) {
    result = probe(path, name, limitSeconds);
    probed.set(key, result);
  }
  return result;
}

function probe(path: string, name: string, limitSeconds: number): Promise<TargetDescription> {
  const worker = new Worker(workerEntry('sim/targets/adapter-probe-worker'), { workerData: { path, name }, env: { ...process.env }, stdout: true, stderr: true });
  // What the module prints while it loads is not leaksim's output.
  worker.stdout.resume();
  worker.stderr.resume();
  return new Promise<TargetDescription>((resolve, reject) => {
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      settle();
    };
    const refuse = (problem: string) => finish(() => reject(new InputError(name, 0, '', problem)));
    const timer = setTimeout(() => refuse(`did not finish loading within ${limitSeconds} s (an endless loop at import?); it was stopped`), limitSeconds * 1_000);
    worker.on('message', (reply: ProbeReply) => {
      if (reply.kind === 'ok') finish(() => resolve(reply.description));
      else finish(() => reject(new InputError(reply.file, reply.line, reply.field, reply.problem)));
    });
    worker.on('error', (error) => refuse(`cannot be loaded as an adapter module: ${String(error?.message ?? error).split('\n')[0]}`));
    worker.on('exit', (code) => refuse(`ended while it loads (exit code ${code}): process.exit() at import, or a top-level await that never settles`));
  });
}

/** LEAKSIM_IMPORT_SECONDS, when set, replaces ADAPTER_IMPORT_SECONDS. */
export function importSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.LEAKSIM_IMPORT_SECONDS;
  if (given === undefined || given === '') return ADAPTER_IMPORT_SECONDS;
  const seconds = Number(given);
  if (!/^\d+(\.\d+)?$/.test(given) || !(seconds > 0) || seconds > 3_600) {
    throw new InputError('LEAKSIM_IMPORT_SECONDS', 0, '', `expected a number of seconds above 0 and at most 3600, got ${JSON.stringify(given)}`);
  }
  return seconds;
}
