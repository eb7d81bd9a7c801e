/**
 * Wraps one of leaksim's synchronous targets so that every route answers with a promise that
 * does the route's work only after a few promise hops, as an `async` route handler that awaits
 * its database does. What the simulator sees must not depend on it.
 */
import type { SessionTarget, SynchronousTargetFactory, TargetFactory } from '../../src/contract.ts';

export function withAsyncRoutes(factory: SynchronousTargetFactory, hops = 3): TargetFactory {
  const later = async (): Promise<void> => {
    for (let hop = 0; hop < hops; hop += 1) await null;
  };
  return (environment) => {
    const inner = factory(environment);
    const target: SessionTarget = {
      start: async () => {
        await later();
        inner.start();
      },
      initializeSession: async (request) => {
        await later();
        return inner.initializeSession(request);
      },
      queueObservation: async (request) => {
        await later();
        return inner.queueObservation(request);
      },
      queueSummarize: async (request) => {
        await later();
        return inner.queueSummarize(request);
      },
      deleteSession: (id) => inner.deleteSession(id),
      completeSession: (id) => inner.completeSession(id),
      shutdown: () => inner.shutdown(),
      session: (id) => inner.session(id),
      history: (id) => inner.history(id),
      stats: () => inner.stats(),
      sessionCount: () => inner.sessionCount(),
      countListeners: () => inner.countListeners(),
    };
    return target;
  };
}
