/**
 * When heap snapshots are taken: a checkpoint every so many hours of simulated time, the first
 * few of them a warm-up that is measured but not judged. Scenario files state these in their
 * `heap` section; the defaults live here and only here.
 */
import { DAY_MS } from '../engine/traffic.ts';

export const DEFAULT_CHECKPOINT_EVERY_HOURS = 24;
export const DEFAULT_WARMUP_CHECKPOINTS = 1;

/**
 * Checkpoints fall every `checkpointEveryMs` strictly inside the traffic (the last one before
 * `days` ends): after the traffic the run drains or shuts down, and a leaky target that holds no
 * timer ends its quiet phase early, so a checkpoint there would not happen for every target alike.
 */
export function checkpointCount(days: number, checkpointEveryMs: number): number {
  return Math.floor((days * DAY_MS - 1) / checkpointEveryMs);
}
