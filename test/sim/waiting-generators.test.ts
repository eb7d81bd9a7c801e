/**
 * Generators that wait for work (GeneratorContext.messages): the simulated agent processes what
 * the target's iterator yields; busy-ness comes from pending work and processing, not from a
 * generator existing; one-generator-per-session counts waiting generators too.
 */
import { describe, expect, it } from 'vitest';
import type { RemovalReason, TargetFactory } from '../../src/contract.ts';
import { runScenario, type RunOutcome } from '../../sim/runs/run.ts';
import { loadScenario, type Scenario } from '../../sim/runs/scenario.ts';
import { resolveTarget } from '../../sim/targets/targets.ts';
import { waitingTarget } from '../helpers/waiting-target.ts';

const resumeAfterTtl = loadScenario('scenarios/resume-after-ttl.json');
const properEndings = loadScenario('scenarios/proper-endings.json');

function run(scenario: Scenario, factory: TargetFactory, days?: number): Promise<RunOutcome> {
  return runScenario(scenario, { target: { name: 'waiting', factory, description: {} }, seed: scenario.seeds[0]!, stop: 'never', ...(days ? { days } : {}) });
}

/** The target, with the removals it reports to the driver counted by reason. */
function countingRemovals(target: TargetFactory): { factory: TargetFactory; removals: Partial<Record<RemovalReason, number>> } {
  const removals: Partial<Record<RemovalReason, number>> = {};
  const factory: TargetFactory = (environment) =>
    target({
      ...environment,
      observer: {
        onRemoved(sessionDbId, reason) {
          removals[reason] = (removals[reason] ?? 0) + 1;
          environment.observer?.onRemoved(sessionDbId, reason);
        },
      },
    });
  return { factory, removals };
}

describe('a generator that waits for work', () => {
  it('is handed every message as it is queued, and the run passes every invariant', async () => {
    const outcome = await run(resumeAfterTtl, waitingTarget());
    expect(outcome.result!.violationCounts).toEqual({});
    const totals = outcome.result!.totals;
    expect(totals.messagesQueued).toBeGreaterThan(1_000);
    expect(totals.messagesProcessed).toBe(totals.messagesQueued);
    expect(outcome.result!.agentEvents).toBe(totals.messagesProcessed);
  });

  it('is not busy while it waits: its session may expire under it', async () => {
    // The target expires a session while its generator still waits (then ends the generator).
    // Judging busy-ness by "a generator exists" would call each of these a busy expiry.
    const { factory, removals } = countingRemovals(waitingTarget());
    const outcome = await run(resumeAfterTtl, factory, 2);
    expect(removals.expired).toBeGreaterThan(10);
    expect(outcome.result!.violationCounts['no-busy-eviction']).toBeUndefined();
    expect(outcome.result!.violationCounts).toEqual({});
  });

  it('is busy while it processes a message: expiring it then fails no-busy-eviction', async () => {
    const outcome = await run(properEndings, waitingTarget({ expireWhileProcessing: true }), 1);
    const violation = outcome.result!.violations.find((candidate) => candidate.invariant === 'no-busy-eviction');
    expect(violation?.detail).toMatch(/was expired while busy \(.*a generator processing a message\)/);
  });

  it('counts for one-generator-per-session while it waits', async () => {
    const outcome = await run(properEndings, waitingTarget({ duplicateGenerators: true }), 1);
    expect(outcome.result!.violationCounts['one-generator-per-session']).toBeGreaterThan(0);
  });

  it('may be aborted first and removed once it has ended (claude-mem deletes so): watchdog-not-early waits for the removal', async () => {
    // Generators take two seconds to end after their abort, so the removal comes two seconds after it.
    const slowToEnd: Scenario = { ...properEndings, faults: { ...properEndings.faults, abortLagMs: 2_000 } };
    const { factory, removals } = countingRemovals(waitingTarget({ abortBeforeDelete: 'removes' }));
    const outcome = await run(slowToEnd, factory, 1);
    expect(removals.deleted).toBeGreaterThan(10);
    expect(outcome.result!.violationCounts).toEqual({});
  });

  it('aborted and then left in memory fails watchdog-not-early', async () => {
    const slowToEnd: Scenario = { ...properEndings, faults: { ...properEndings.faults, abortLagMs: 2_000 } };
    const outcome = await run(slowToEnd, waitingTarget({ abortBeforeDelete: 'keeps' }), 1);
    const violation = outcome.result!.violations.find((candidate) => candidate.invariant === 'watchdog-not-early');
    expect(violation?.detail).toMatch(/^session \d+'s generator was aborted [\d.]+ (s|min) after its last activity, within the idle timeout of .*, while the session stayed in memory$/);
  });

  it('ending across a laptop sleep is settled before the sample at wake-up looks (a timer fired on the way starts promise work)', async () => {
    // examples/waiting-adapter.ts: its 3-minute idle wait ends on a timer, its session's removal follows in promise callbacks.
    const outcome = await runScenario(loadScenario('scenarios/laptop-sleep.json'), { target: await resolveTarget('examples/waiting-adapter.ts'), seed: 2, stop: 'never' });
    expect(outcome.result!.violationCounts).toEqual({});
  });
});
