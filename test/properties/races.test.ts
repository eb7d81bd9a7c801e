/**
 * Races with fc.scheduler: interleavings of cleanup timers, new work, generator exit and delete.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import type { SynchronousTargetFactory } from '../../src/contract.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { RACE_STEPS_MAX, raceProperty } from './support/races.ts';
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

  it('a target that keeps scheduling work fails at the step cap, with its seed and path, instead of hanging', async () => {
    // Its generator, once it ends, starts again at once and for ever: each new run is one more
    // scheduled task, so the scheduler's queue never empties.
    const spinning: SynchronousTargetFactory = (environment) =>
      referenceTarget({
        ...environment,
        agent: {
          run: async (context) => {
            while (!context.signal.aborted) await environment.agent.run(context).catch(() => undefined);
          },
        },
      });
    const details = await fc.check(raceProperty(spinning), { seed: 1, numRuns: 5, endOnFailure: true });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toContain(`the race did not settle within ${RACE_STEPS_MAX} scheduler steps`);
    expect(fc.defaultReportMessage(details)).toMatch(/seed: 1, path: "\d+(:\d+)*"/);
  });
});
