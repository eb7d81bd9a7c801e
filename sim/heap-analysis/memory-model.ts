/**
 * The memory model the cost account prices memory with, read from the committed heap baselines:
 * what the reference measured per session and per history message on one heap scenario. The cost
 * code never reads files; whoever runs a scenario hands it this model (or one of its own).
 */
import { resolve } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import type { MemoryModel } from '../check/costs.ts';
import { PACKAGE_ROOT } from '../engine/package-root.ts';
import { readBaselines } from './baselines.ts';

/** The heap baselines the memory model is read from, wherever leaksim is run from. */
export const MEMORY_MODEL_FILE = resolve(PACKAGE_ROOT, 'reports/baselines/heap.json');
/** The heap scenario whose reference measurement gives the model. */
export const MEMORY_MODEL_SCENARIO = 'heap-idle-sessions';
/**
 * Messages each session held at that scenario's judged checkpoints: its sessions sit at the history
 * bound of 20 (19.94 on average over seeds 1–3; pinned by test/sim/costs.test.ts). A session's
 * retained bytes include its history, so its own overhead is the measured bytes less these messages.
 */
export const MODEL_MESSAGES_PER_SESSION = 20;

let cachedModel: MemoryModel | undefined;

/** The model from the committed heap baselines (read once per process). */
export function memoryModel(file = MEMORY_MODEL_FILE): MemoryModel {
  if (file === MEMORY_MODEL_FILE && cachedModel) return cachedModel;
  const baselines = readBaselines(file);
  const entry = baselines?.scenarios[MEMORY_MODEL_SCENARIO];
  if (!entry || entry.bytesPerHistoryMessage === null) {
    throw new InputError(file, 0, `scenarios.${MEMORY_MODEL_SCENARIO}`, 'is missing: the memory model needs its bytesPerSession and bytesPerHistoryMessage (npm run heap:update)');
  }
  const historyBytes = MODEL_MESSAGES_PER_SESSION * entry.bytesPerHistoryMessage;
  const model: MemoryModel = {
    bytesPerSession: Math.max(0, entry.bytesPerSession - historyBytes),
    bytesPerHistoryMessage: entry.bytesPerHistoryMessage,
    source: `reports/baselines/heap.json, ${MEMORY_MODEL_SCENARIO} (${entry.target}): ${entry.bytesPerSession} B per session with ${MODEL_MESSAGES_PER_SESSION} messages, ${entry.bytesPerHistoryMessage} B per message`,
  };
  if (file === MEMORY_MODEL_FILE) cachedModel = model;
  return model;
}

