/** Imports one adapter module in this worker thread and answers with its description, or the one-line reason it cannot be used. */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../../src/input-error.ts';
import { importAdapter } from './adapter-module.ts';
import { parseDescription } from './target-description.ts';
import { errorText } from './target-guard.ts';
import type { ProbeReply } from './adapter-probe.ts';

const { path, name } = workerData as { path: string; name: string };
const post = (reply: ProbeReply) => parentPort!.postMessage(reply);
try {
  const module = await importAdapter(path, name);
  if (typeof module.createTarget !== 'function') throw new InputError(name, 0, 'createTarget', 'must be exported: a function (environment) => SessionTarget');
  post({ kind: 'ok', description: parseDescription(module.description, name) });
} catch (error) {
  if (error instanceof InputError) post({ kind: 'input-error', file: error.file, line: error.line, field: error.field, problem: error.problem });
  else post({ kind: 'input-error', file: name, line: 0, field: '', problem: `cannot be loaded as an adapter module: ${errorText(error)}` });
}
