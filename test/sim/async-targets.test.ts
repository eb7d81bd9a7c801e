/**
 * What claude-mem's own code showed about async targets (sim/targets/claude-mem/): generators started
 * inside the route that creates their session, a start-up that recovers sessions over simulated
 * time, and `AbortSignal.timeout`, which fake-timers leaves on real time.
 */
import { describe, expect, it } from 'vitest';
import type { TargetFactory } from '../../src/contract.ts';
import type { PendingMessage } from '../../src/pending-store.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { SimClock } from '../../sim/engine/clock.ts';
import { runScenario } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { withAsyncRoutes } from '../helpers/async-target.ts';

const steadyWeek = loadScenario('scenarios/steady-week.json');
const workerRestart = loadScenario('scenarios/worker-restart.json');

/** A message iterator that never yields: a generator waiting for work that never comes. */
const NOTHING: AsyncIterable<PendingMessage> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<PendingMessage>>(() => undefined) }) };

describe('async targets', () => {
  it('two generators started inside the route that creates their session are caught as duplicates', async () => {
    // As claude-mem 13.x's ensureGeneratorRunning does when two routes race for a new session.
    const racing: TargetFactory = (environment) => {
      const target = withAsyncRoutes(referenceTarget)(environment);
      return {
        ...target,
        initializeSession: async (request) => {
          const result = await target.initializeSession(request);
          if (result.created) {
            for (let run = 0; run < 2; run += 1) {
              void environment.agent.run({ sessionDbId: result.sessionDbId, signal: new AbortController().signal, claim: () => undefined, append: () => undefined, ack: () => undefined, messages: NOTHING }).catch(() => undefined);
            }
          }
          return result;
        },
      };
    };
    const outcome = await runScenario(steadyWeek, { target: { name: 'racing', factory: racing, description: {} }, seed: 1, days: 1 });
    expect(outcome.firstViolation?.invariant).toBe('one-generator-per-session');
    expect(outcome.firstViolation?.detail).toMatch(/^2 generators running for session \d+$/);
  });

  it('sessions a start-up recovers over simulated time are announced once, while routes create others', async () => {
    // As claude-mem 8.5.x's worker does: it resumes sessions with pending work 100 ms apart.
    const slowStart: TargetFactory = (environment) => {
      const target = withAsyncRoutes(referenceTarget)(environment);
      return {
        ...target,
        start: async () => {
          await new Promise((resolve) => setTimeout(resolve, 60_000));
          await target.start();
        },
      };
    };
    const outcome = await runScenario(workerRestart, { target: { name: 'slow-start', factory: slowStart, description: {} }, seed: 1, stop: 'never' });
    expect(outcome.result!.totals.workerRestarts).toBeGreaterThan(0);
    expect(outcome.result!.violationCounts['removals-reported']).toBeUndefined();
  });

  it('AbortSignal.timeout runs on simulated time, and is real again once the clock is gone', () => {
    const real = AbortSignal.timeout;
    const clock = SimClock.install(0);
    try {
      const signal = AbortSignal.timeout(30_000);
      clock.advanceTo(29_999);
      expect(signal.aborted).toBe(false);
      clock.advanceTo(30_000);
      expect(signal.aborted).toBe(true);
      expect((signal.reason as DOMException).name).toBe('TimeoutError');
    } finally {
      clock.uninstall();
    }
    expect(AbortSignal.timeout).toBe(real);
  });
});
