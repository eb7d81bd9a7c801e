/**
 * The heap gate's rules: hard bounds from the settings, and a growth rule over checkpoints.
 * Pure functions of the measures; the probe measures, this judges.
 *
 * Hard bounds, at every checkpoint (warm-up included):
 * - `heap-sessions-within-cap`: session objects in the heap ≤ maxActiveSessions. Counted in the
 *   heap, not asked of the manager: a session dropped from the manager's map but still held by a
 *   timer or a listener is counted too.
 * - `heap-history-within-bound`: history message objects ≤ maxActiveSessions × maxHistoryMessages
 *   + slack. The slack (default maxActiveSessions) allows one message per session in flight in
 *   the agent, outside any history, when the checkpoint falls mid-reply.
 *
 * Growth rule (`heap-no-growth`), per measure, over the checkpoints after the warm-up:
 *   a measure leaks when at least ⌈(k−1)·5/6⌉ of its k−1 consecutive deltas grow by more than
 *   its floor, AND the least-squares slope over the k checkpoints exceeds its threshold per
 *   simulated day.
 * Why both: a real leak grows at nearly every checkpoint (the "most blocks grow" rule of the
 * `leakage` library, 5 of 6), while a bounded heap wobbles up and down around its steady state;
 * requiring most steps to grow rejects wobble, and requiring a slope rejects a steady creep too
 * small to matter (V8's own caches, the harness's per-session records in the simulated store).
 * With fewer than 6 deltas the count rounds up to all of them: on a short run only monotonic
 * growth counts. The warm-up (default 1 checkpoint) skips the first day, when caches fill and
 * the manager first reaches its cap. At least 3 judged checkpoints are needed (2 deltas).
 *
 * Thresholds, per simulated day (see GROWTH_RULES): 1 session object; one full history
 * (maxHistoryMessages) of message objects; 64 KiB retained by the manager; 1 MiB of total heap.
 * The total-heap threshold sits above what the harness itself grows by at heap-scenario scale
 * (the simulated store keeps one record per session, as the real database does): measured at
 * about 0.1 MiB a day for the shipped heap scenarios.
 */
import type { RetentionSettings } from '../../src/settings.ts';
import { DAY_MS } from '../engine/traffic.ts';
import type { CheckpointMeasure } from './measure.ts';

export const HEAP_RULE_NAMES = ['heap-sessions-within-cap', 'heap-history-within-bound', 'heap-no-growth', 'heap-within-baseline'] as const;
export type HeapRuleName = (typeof HEAP_RULE_NAMES)[number];

export type GrowthMeasure = 'sessionObjects' | 'historyMessageObjects' | 'managerRetainedBytes' | 'totalHeapBytes';

export interface GrowthRule {
  readonly measure: GrowthMeasure;
  readonly unit: 'objects' | 'bytes';
  /** A delta counts as growing only above this. */
  readonly floor: number;
  /** The fitted slope per simulated day must exceed this. */
  readonly minSlopePerDay: (settings: RetentionSettings) => number;
}

export const KIB = 1024;
export const MIB = 1024 * KIB;

export const GROWTH_RULES: readonly GrowthRule[] = [
  { measure: 'sessionObjects', unit: 'objects', floor: 0, minSlopePerDay: () => 1 },
  { measure: 'historyMessageObjects', unit: 'objects', floor: 0, minSlopePerDay: (settings) => settings.maxHistoryMessages },
  { measure: 'managerRetainedBytes', unit: 'bytes', floor: KIB, minSlopePerDay: () => 64 * KIB },
  { measure: 'totalHeapBytes', unit: 'bytes', floor: 16 * KIB, minSlopePerDay: () => MIB },
];

/** At least this many checkpoints after the warm-up, so that the rule has two deltas to read. */
export const JUDGED_CHECKPOINTS_MIN = 3;
/** Share of consecutive deltas that must grow: 5 of 6, as leakage's rule. */
export const GROWING_SHARE = 5 / 6;

export interface HeapLimits {
  readonly maxSessionObjects: number;
  readonly maxHistoryMessageObjects: number;
}

export function heapLimits(settings: RetentionSettings, historySlackMessages = settings.maxActiveSessions): HeapLimits {
  return {
    maxSessionObjects: settings.maxActiveSessions,
    maxHistoryMessageObjects: settings.maxActiveSessions * settings.maxHistoryMessages + historySlackMessages,
  };
}

export interface MeasureTrend {
  readonly measure: GrowthMeasure;
  readonly unit: 'objects' | 'bytes';
  readonly first: number;
  readonly last: number;
  readonly growingSteps: number;
  readonly steps: number;
  readonly stepsNeeded: number;
  readonly slopePerDay: number;
  readonly minSlopePerDay: number;
  readonly leaking: boolean;
}

export interface HeapFinding {
  readonly rule: HeapRuleName;
  readonly atMs: number | null;
  readonly detail: string;
}

export interface HeapJudgement {
  readonly passed: boolean;
  readonly findings: readonly HeapFinding[];
  readonly trends: readonly MeasureTrend[];
}

export function judgeHeap(measures: readonly CheckpointMeasure[], warmupCheckpoints: number, settings: RetentionSettings, limits: HeapLimits): HeapJudgement {
  const findings: HeapFinding[] = [];
  for (const measure of measures) {
    if (measure.sessionObjects > limits.maxSessionObjects) {
      findings.push({ rule: 'heap-sessions-within-cap', atMs: measure.atMs, detail: `${measure.sessionObjects} session objects in the heap, cap ${limits.maxSessionObjects}` });
      break;
    }
  }
  for (const measure of measures) {
    if (measure.historyMessageObjects > limits.maxHistoryMessageObjects) {
      findings.push({
        rule: 'heap-history-within-bound',
        atMs: measure.atMs,
        detail: `${measure.historyMessageObjects} history message objects in the heap, bound ${limits.maxHistoryMessageObjects}`,
      });
      break;
    }
  }
  const judged = measures.slice(warmupCheckpoints);
  const trends = judged.length >= JUDGED_CHECKPOINTS_MIN ? GROWTH_RULES.map((rule) => trendOf(rule, judged, settings)) : [];
  for (const trend of trends) {
    if (!trend.leaking) continue;
    findings.push({
      rule: 'heap-no-growth',
      atMs: null,
      detail: `${trend.measure} grew in ${trend.growingSteps} of ${trend.steps} steps, ${formatAmount(trend.first, trend.unit)} → ${formatAmount(trend.last, trend.unit)}, ${formatAmount(trend.slopePerDay, trend.unit)}/day (threshold ${formatAmount(trend.minSlopePerDay, trend.unit)}/day)`,
    });
  }
  return { passed: findings.length === 0, findings, trends };
}

export function trendOf(rule: GrowthRule, judged: readonly CheckpointMeasure[], settings: RetentionSettings): MeasureTrend {
  const values = judged.map((measure) => measure[rule.measure]);
  const days = judged.map((measure) => measure.atMs / DAY_MS);
  let growingSteps = 0;
  for (let index = 1; index < values.length; index += 1) if (values[index]! - values[index - 1]! > rule.floor) growingSteps += 1;
  const steps = values.length - 1;
  const stepsNeeded = Math.ceil(steps * GROWING_SHARE);
  const slopePerDay = leastSquaresSlope(days, values);
  const minSlopePerDay = rule.minSlopePerDay(settings);
  return {
    measure: rule.measure,
    unit: rule.unit,
    first: values[0]!,
    last: values.at(-1)!,
    growingSteps,
    steps,
    stepsNeeded,
    slopePerDay,
    minSlopePerDay,
    leaking: growingSteps >= stepsNeeded && slopePerDay > minSlopePerDay,
  };
}

/** Slope of the least-squares line through (x, y); 0 for fewer than two points. */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const meanX = xs.reduce((sum, x) => sum + x, 0) / n;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (let index = 0; index < n; index += 1) {
    numerator += (xs[index]! - meanX) * (ys[index]! - meanY);
    denominator += (xs[index]! - meanX) ** 2;
  }
  return denominator === 0 ? 0 : numerator / denominator;
}

export function formatAmount(value: number, unit: 'objects' | 'bytes'): string {
  if (unit === 'objects') return `${Math.round(value).toLocaleString('en-US')} objects`;
  return formatBytes(value);
}

export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const size = Math.abs(bytes);
  if (size >= MIB) return `${sign}${(size / MIB).toFixed(2)} MiB`;
  if (size >= KIB) return `${sign}${(size / KIB).toFixed(1)} KiB`;
  return `${sign}${Math.round(size)} B`;
}
