/**
 * A scenario's `heap` section, read into the gate's terms. The schema has validated it; this only
 * fills in the defaults, which live here and only here.
 */
import { FLAW_NAMES } from '../../src/baseline/flaws.ts';
import type { Scenario } from '../scenario.ts';
import { DAY_MS, HOUR_MS } from '../traffic.ts';

export type HeapVerdict = 'pass' | 'fail';

export interface HeapPlan {
  readonly checkpointEveryMs: number;
  readonly warmupCheckpoints: number;
  readonly seeds: readonly number[];
  /** Extra message objects allowed beyond maxActiveSessions × maxHistoryMessages. */
  readonly historySlackMessages: number;
  /** The heap verdict expected of each target, in check order: reference, baseline, twin, flaws. */
  readonly expect: ReadonlyMap<string, HeapVerdict>;
}

export const DEFAULT_CHECKPOINT_EVERY_HOURS = 24;
export const DEFAULT_WARMUP_CHECKPOINTS = 1;

/** The scenario's heap plan, or undefined when it is not marked for heap checks. */
export function heapPlanOf(scenario: Scenario): HeapPlan | undefined {
  const raw = scenario.heap as Record<string, any> | undefined;
  if (!raw) return undefined;
  const expect = new Map<string, HeapVerdict>();
  expect.set('reference', raw.expect.reference);
  if (raw.expect.baseline) expect.set('baseline', raw.expect.baseline);
  if (raw.expect.twin) expect.set('twin', raw.expect.twin);
  for (const flaw of FLAW_NAMES) if (raw.expect.flaws?.[flaw]) expect.set(`flaw:${flaw}`, raw.expect.flaws[flaw]);
  return {
    checkpointEveryMs: Math.round((raw.checkpointEveryHours ?? DEFAULT_CHECKPOINT_EVERY_HOURS) * HOUR_MS),
    warmupCheckpoints: raw.warmupCheckpoints ?? DEFAULT_WARMUP_CHECKPOINTS,
    seeds: raw.seeds ?? scenario.seeds,
    historySlackMessages: raw.historySlackMessages ?? scenario.settings.maxActiveSessions,
    expect,
  };
}

/**
 * Checkpoints fall every `checkpointEveryMs` strictly inside the traffic (the last one before
 * `days` ends): after the traffic the run drains or shuts down, and a leaky target that holds no
 * timer ends its quiet phase early, so a checkpoint there would not happen for every target alike.
 */
export function checkpointCount(days: number, checkpointEveryMs: number): number {
  return Math.floor((days * DAY_MS - 1) / checkpointEveryMs);
}
