/**
 * Races with fc.scheduler: interleavings of cleanup timers, new work, generator exit and delete.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { raceProperty } from './support/races.ts';
import { referenceRuns, timeoutFor } from './support/runs.ts';

const QUICK_RUNS = 200;

describe('races', () => {
  it(
    'under any interleaving of timers, new work, generator exit and delete, the reference keeps every invariant and drains',
    async () => {
      await fc.assert(raceProperty(referenceTarget), referenceRuns(QUICK_RUNS));
    },
    timeoutFor(QUICK_RUNS),
  );

  it('a failing interleaving is reported as the scheduler\'s order of events', async () => {
    const details = await fc.check(raceProperty(leakyTarget(['cleanup-not-cancelled'])), { seed: 3, numRuns: 100 });
    expect(details.failed).toBe(true);
    expect(String(details.counterexample![0])).toMatch(/schedulerFor\(\)`[\s\S]*tick [\d.]+ TTL/);
  });
});
