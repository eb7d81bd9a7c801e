/**
 * Routes may answer with a promise (claude-mem 13.x's route handlers are `async`). The driver
 * settles what a hook event started before it judges and before the clock moves, so a target
 * that does its work a few promise hops after the hook must be seen exactly as one that does it
 * at once.
 */
import { describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import { type TargetFactory, SessionLimitError } from '../../src/contract.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { runScenario } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { withAsyncRoutes } from '../helpers/async-target.ts';

const steadyWeek = loadScenario('scenarios/steady-week.json');
const workerRestart = loadScenario('scenarios/worker-restart.json');

describe('async routes', () => {
  it('give the same run, hash for hash, as the same target answering at once', async () => {
    const sync = await runScenario(steadyWeek, { target: { name: 'reference', factory: referenceTarget, description: {} }, seed: 1, days: 2, stop: 'never' });
    const async = await runScenario(steadyWeek, { target: { name: 'async', factory: withAsyncRoutes(referenceTarget), description: {} }, seed: 1, days: 2, stop: 'never' });
    expect(async.verdict).toBe('pass');
    expect(async.result!.totals.expirations).toBeGreaterThan(0);
    expect(async.result!.totals).toEqual(sync.result!.totals);
    expect(async.result!.traceHash).toBe(sync.result!.traceHash);
  });

  it('an async start recovers the persisted queue after a worker restart before the next hook', async () => {
    const sync = await runScenario(workerRestart, { target: { name: 'reference', factory: referenceTarget, description: {} }, seed: 1, stop: 'never' });
    const async = await runScenario(workerRestart, { target: { name: 'async', factory: withAsyncRoutes(referenceTarget), description: {} }, seed: 1, stop: 'never' });
    expect(async.verdict).toBe('pass');
    expect(async.result!.totals.workerRestarts).toBeGreaterThan(0);
    expect(async.result!.totals).toEqual(sync.result!.totals);
  });

  it('still catch a leak that answers asynchronously (the twin without idle cleanup)', async () => {
    const outcome = await runScenario(steadyWeek, { target: { name: 'async-leaky', factory: withAsyncRoutes(leakyTarget(['no-idle-cleanup'])), description: {} }, seed: 1, days: 2 });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.firstViolation?.invariant).toBe('idle-expired-in-time');
  });

  it('count a rejected SessionLimitError as a refusal, like a thrown one', async () => {
    const settings = { values: { ...steadyWeek.settings, maxActiveSessions: 2 }, file: 'two-sessions.json' };
    const sync = await runScenario(steadyWeek, { target: { name: 'reference', factory: referenceTarget, description: {} }, seed: 1, days: 1, settings, stop: 'never' });
    const async = await runScenario(steadyWeek, { target: { name: 'async', factory: withAsyncRoutes(referenceTarget, 1), description: {} }, seed: 1, days: 1, settings, stop: 'never' });
    expect(sync.result!.totals.refusedSessions).toBeGreaterThan(0);
    expect(async.result!.totals.refusedSessions).toBe(sync.result!.totals.refusedSessions);
  });

  it('a route whose promise rejects with anything else ends the run with that error', async () => {
    const broken: TargetFactory = (environment) => {
      const target = withAsyncRoutes(referenceTarget)(environment);
      return { ...target, queueSummarize: async () => Promise.reject(new Error('database is locked')) };
    };
    await expect(runScenario(steadyWeek, { target: { name: 'broken', factory: broken, description: {} }, seed: 1, days: 1 })).rejects.toThrow('database is locked');
    expect(new SessionLimitError(1).code).toBe('LEAKSIM_SESSION_LIMIT');
  });

  it('a route that waits on a zero-delay timer is answered at that timer, before the clock moves on', async () => {
    const onTimer: TargetFactory = (environment) => {
      const target = referenceTarget(environment);
      const timerHop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
      return {
        ...withAsyncRoutes(() => target)(environment),
        initializeSession: async (request) => {
          await timerHop();
          return target.initializeSession(request);
        },
      };
    };
    const outcome = await runScenario(steadyWeek, { target: { name: 'on-timer', factory: onTimer, description: {} }, seed: 1, days: 1, stop: 'never' });
    expect(outcome.result!.totals.sessionsCreated).toBeGreaterThan(0);
    expect(outcome.result!.violationCounts).toEqual({});
  });
});
