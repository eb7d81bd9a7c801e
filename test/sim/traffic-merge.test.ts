/**
 * teamTraffic merges the developers' streams on a flat heap with integer keys (time, then
 * developer); the heap of objects it replaced stays as the fallback for keys too large. Both must
 * give the same stream, ties included: every pinned trace hash depends on the order.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAFFIC, teamTraffic, teamTrafficByObjects } from '../../sim/engine/traffic.ts';

describe('teamTraffic', () => {
  it('gives the stream of the object heap, event for event, ties broken by developer', () => {
    // Many developers starting within a minute of each other, so that many events share a millisecond.
    const model = { ...DEFAULT_TRAFFIC, developers: 300, days: 2, startJitterMinutes: 1, toolGapSeconds: 0.01 };
    const flat = [...teamTraffic(model, 7)];
    const objects = [...teamTrafficByObjects(model, 7)];
    expect(flat.length).toBeGreaterThan(10_000);
    expect(flat).toEqual(objects);
    const ties = flat.filter((event, index) => index > 0 && flat[index - 1]!.atMs === event.atMs).length;
    expect(ties).toBeGreaterThan(100);
  });
});
