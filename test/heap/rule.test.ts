import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/settings.ts';
import type { CheckpointMeasure } from '../../sim/heap-analysis/measure.ts';
import { GROWTH_RULES, heapLimits, judgeHeap, leastSquaresSlope, MIB, trendOf } from '../../sim/heap-analysis/rule.ts';
import { DAY_MS } from '../../sim/engine/traffic.ts';

const settings = { ...DEFAULT_SETTINGS, maxActiveSessions: 10, maxHistoryMessages: 20 };
const limits = heapLimits(settings);

/** Checkpoints at the end of days 1..n with the given session counts; other measures flat. */
function checkpoints(sessions: readonly number[], heapMiB: readonly number[] = sessions.map(() => 12)): CheckpointMeasure[] {
  return sessions.map((count, index) => ({
    atMs: (index + 1) * DAY_MS,
    snapshotBytes: 10 * MIB,
    sessionObjects: count,
    sessionRetainedBytes: count * 50_000,
    historyMessageObjects: Math.min(count, 10) * 20,
    historyMessageRetainedBytes: 0,
    managerRetainedBytes: 500_000,
    totalHeapBytes: heapMiB[index]! * MIB,
  }));
}

const sessionRule = GROWTH_RULES.find((rule) => rule.measure === 'sessionObjects')!;

describe('heap growth rule', () => {
  it('holds the bounds derived from the settings', () => {
    expect(limits).toEqual({ maxSessionObjects: 10, maxHistoryMessageObjects: 10 * 20 + 10 });
    const judgement = judgeHeap(checkpoints([10, 11, 10, 10]), 1, settings, limits);
    expect(judgement.findings.map((finding) => finding.rule)).toEqual(['heap-sessions-within-cap']);
    expect(judgement.findings[0]!.atMs).toBe(2 * DAY_MS);
  });

  it('calls steady growth a leak, and a bounded heap that wobbles no leak', () => {
    expect(trendOf(sessionRule, checkpoints([3, 5, 8, 12]), settings).leaking).toBe(true);
    expect(trendOf(sessionRule, checkpoints([8, 10, 9, 10, 8, 10]), settings).leaking).toBe(false);
  });

  it('tolerates one flat step in six (5 of 6), not two', () => {
    expect(trendOf(sessionRule, checkpoints([2, 4, 6, 6, 8, 10, 12]), settings)).toMatchObject({ growingSteps: 5, steps: 6, stepsNeeded: 5, leaking: true });
    expect(trendOf(sessionRule, checkpoints([2, 4, 4, 6, 6, 8, 10]), settings).leaking).toBe(false);
  });

  it('ignores growth whose slope is below the threshold per simulated day', () => {
    // Total heap creeping by 0.1 MiB a day (the harness's own records) is not a leak; 2 MiB a day is.
    const total = GROWTH_RULES.find((rule) => rule.measure === 'totalHeapBytes')!;
    expect(trendOf(total, checkpoints([5, 5, 5, 5], [12, 12.1, 12.2, 12.3]), settings).leaking).toBe(false);
    expect(trendOf(total, checkpoints([5, 5, 5, 5], [12, 14, 16, 18]), settings).leaking).toBe(true);
  });

  it('skips the warm-up and needs three judged checkpoints', () => {
    expect(judgeHeap(checkpoints([1, 5, 5, 5]), 1, settings, limits).passed).toBe(true);
    expect(judgeHeap(checkpoints([1, 2, 3]), 1, settings, limits).trends).toEqual([]);
  });

  it('fits the least-squares slope', () => {
    expect(leastSquaresSlope([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(2);
    expect(leastSquaresSlope([1], [5])).toBe(0);
  });
});
