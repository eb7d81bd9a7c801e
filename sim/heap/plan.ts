/**
 * A scenario's `heap` section, read into the gate's terms. The schema has validated it; this only
 * fills in the defaults, which live here and only here.
 */
import { FLAW_NAMES } from '../../src/baseline/flaws.ts';
import type { Scenario } from '../runs/scenario.ts';
import { HOUR_MS } from '../engine/traffic.ts';
import { DEFAULT_CHECKPOINT_EVERY_HOURS, DEFAULT_WARMUP_CHECKPOINTS } from '../heap-analysis/checkpoints.ts';

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
