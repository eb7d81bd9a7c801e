/**
 * The simulation clock moves `now` itself when no timer is due on the way (sim/engine/clock.ts,
 * advanceTo): it must leave the clock exactly as fake-timers' own tick would, and never pass a
 * due timer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimClock } from '../../sim/engine/clock.ts';

const ORIGIN = Date.UTC(2026, 0, 5, 0, 0, 0);
let clock: SimClock | undefined;
afterEach(() => {
  clock?.uninstall();
  clock = undefined;
});

/** Date.now() and performance.now() after advancing to each point, with a far timer (the fast path) or a timer due at each point (the tick). */
function readings(points: readonly number[], tickEveryTime: boolean): number[][] {
  clock = SimClock.install(ORIGIN);
  const seen: number[][] = [];
  for (const atMs of points) {
    if (tickEveryTime) setTimeout(() => {}, atMs - clock!.nowMs);
    clock.advanceTo(atMs);
    seen.push([Date.now(), performance.now(), clock.nowMs]);
  }
  clock.uninstall();
  clock = undefined;
  return seen;
}

describe('SimClock.advanceTo', () => {
  it('leaves Date, performance and nowMs where a tick would', () => {
    const points = [0, 1, 250, 250, 60_000, 3_600_000 + 7, 86_400_000];
    const moved = readings(points, false);
    expect(moved).toEqual(readings(points, true));
    expect(moved.at(-1)![0]).toBe(ORIGIN + 86_400_000);
  });

  it('fires every timer due on the way, in order, and none that is not yet due', () => {
    clock = SimClock.install(ORIGIN);
    const fired: string[] = [];
    setTimeout(() => fired.push(`a at ${clock!.nowMs}`), 500);
    setTimeout(() => fired.push(`b at ${clock!.nowMs}`), 1_500);
    clock.advanceTo(400);
    expect(fired).toEqual([]);
    clock.advanceTo(1_000);
    expect(fired).toEqual(['a at 500']);
    clock.advanceTo(1_499);
    expect(fired).toEqual(['a at 500']);
    clock.advanceTo(2_000);
    expect(fired).toEqual(['a at 500', 'b at 1500']);
    expect(clock.nowMs).toBe(2_000);
  });
});
