/**
 * Metric samples thinned for charts: at most `maxPoints` points per run, each the maximum of its
 * bucket of consecutive samples, so a peak is never smoothed away (a leak's climb and a burst at
 * the cap both stay visible). Deterministic: buckets depend on the sample count alone.
 */
import { retainedBytes, type MemoryModel } from '../check/costs.ts';
import type { MetricSample } from '../runs/driver.ts';
import { DAY_MS } from '../engine/traffic.ts';

export interface SeriesPoint {
  /** Simulated days since the start (fractional), at the bucket's last sample. */
  readonly day: number;
  readonly sessions: number;
  readonly retainedBytes: number;
  readonly historyMessages: number;
}

export function downsample(samples: readonly MetricSample[], model: MemoryModel, maxPoints: number): SeriesPoint[] {
  const bucket = Math.max(1, Math.ceil(samples.length / maxPoints));
  const points: SeriesPoint[] = [];
  for (let start = 0; start < samples.length; start += bucket) {
    let sessions = 0;
    let bytes = 0;
    let messages = 0;
    const end = Math.min(samples.length, start + bucket);
    for (let index = start; index < end; index += 1) {
      const sample = samples[index]!;
      sessions = Math.max(sessions, sample.activeSessions);
      messages = Math.max(messages, sample.historyMessages);
      bytes = Math.max(bytes, retainedBytes(model, sample.activeSessions, sample.historyMessages));
    }
    points.push({ day: Math.round((samples[end - 1]!.atMs / DAY_MS) * 1000) / 1000, sessions, retainedBytes: bytes, historyMessages: messages });
  }
  return points;
}
