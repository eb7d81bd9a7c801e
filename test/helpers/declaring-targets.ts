/**
 * Targets that make choices real session managers make, built over leaksim's own by changing one
 * thing each: the declaration tests judge them with and without declaring that choice.
 */
import { getEventListeners } from 'node:events';
import type { Agent, QueueResult, SessionTarget, SynchronousTarget, SynchronousTargetFactory, TargetEnvironment, TargetFactory } from '../../src/contract.ts';
import type { PendingStore } from '../../src/pending-store.ts';

/** Every method of `inner`, bound to it, so that a wrapper can replace one or two. */
export function delegate(inner: SynchronousTarget): SynchronousTarget {
  return {
    start: () => inner.start(),
    initializeSession: (request) => inner.initializeSession(request),
    queueObservation: (request) => inner.queueObservation(request),
    queueSummarize: (request) => inner.queueSummarize(request),
    deleteSession: (id) => inner.deleteSession(id),
    completeSession: (id) => inner.completeSession(id),
    shutdown: () => inner.shutdown(),
    session: (id) => inner.session(id),
    history: (id) => inner.history(id),
    stats: () => inner.stats(),
    sessionCount: () => inner.sessionCount(),
    countListeners: () => inner.countListeners(),
  };
}

/** Re-creates a session from the first prompt ever recorded for it (claude-mem 8.5.7 does), not the latest. */
export function pinsFirstPrompt(factory: SynchronousTargetFactory): TargetFactory {
  return (environment) => {
    const firstPrompts = new Map<string, string>();
    const real = environment.store;
    const store = new Proxy(real, {
      get(target, property) {
        if (property === 'recordPrompt') {
          return (contentSessionId: string, project: string, userPrompt: string) => {
            if (!firstPrompts.has(contentSessionId)) firstPrompts.set(contentSessionId, userPrompt);
            return target.recordPrompt(contentSessionId, project, firstPrompts.get(contentSessionId)!);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as PendingStore;
    return factory({ ...environment, store });
  };
}

/** Keeps its queue in memory: what the old worker had queued is gone when a new one starts. */
export function queueInMemory(factory: SynchronousTargetFactory): TargetFactory {
  return (environment) => ({
    ...delegate(factory(environment)),
    start: () => {
      for (const sessionDbId of environment.store.recoverInFlight()) environment.store.dropSession(sessionDbId, false);
    },
  });
}

/** Holds two listeners per session on an emitter of its own (claude-mem 13.x keeps two: `message` and `abort`). */
export function twoListenersPerSession(factory: SynchronousTargetFactory): TargetFactory {
  return (environment) => {
    const bus = new EventTarget();
    // Two of its own per session: the reference itself holds one listener in all, whatever the sessions.
    const listeners = new Map<number, (() => void)[]>();
    const inner = factory({
      ...environment,
      observer: {
        onRemoved(sessionDbId, reason) {
          for (const listener of listeners.get(sessionDbId) ?? []) bus.removeEventListener('message', listener);
          listeners.delete(sessionDbId);
          environment.observer?.onRemoved(sessionDbId, reason);
        },
      },
    });
    const listen = <T extends { readonly created: boolean; readonly sessionDbId: number }>(result: T): T => {
      if (result.created) {
        const own = [() => undefined, () => undefined];
        listeners.set(result.sessionDbId, own);
        for (const listener of own) bus.addEventListener('message', listener);
      }
      return result;
    };
    const queued = (result: QueueResult) => (result.queued ? listen(result) : result);
    return {
      ...delegate(inner),
      initializeSession: (request) => listen(inner.initializeSession(request)),
      queueObservation: (request) => queued(inner.queueObservation(request)),
      queueSummarize: (request) => queued(inner.queueSummarize(request)),
      countListeners: () => inner.countListeners() + getEventListeners(bus, 'message').length,
    };
  };
}

/** Expires idle sessions after a constant `ttlMs` of its own, whatever the settings say. */
export function constantTtl(factory: SynchronousTargetFactory, ttlMs: number): TargetFactory {
  return (environment) => factory({ ...environment, settings: { ...environment.settings, ttlMs } });
}

/**
 * Shows a session's history only once its generator has run (claude-mem fills it when the
 * generator gets a slot). Its agent starts only when there is work: a prompt alone starts nothing.
 * `never`: the history stays empty even after the generator ran (a broken target).
 */
export function historyAfterGenerator(factory: SynchronousTargetFactory, never = false): TargetFactory {
  return (environment: TargetEnvironment): SessionTarget => {
    const ran = new Set<number>();
    const agent: Agent = {
      run(context) {
        if (environment.store.pendingCount(context.sessionDbId) === 0) return Promise.resolve();
        ran.add(context.sessionDbId);
        return environment.agent.run(context);
      },
    };
    const inner = factory({ ...environment, agent });
    return {
      ...delegate(inner),
      session(id) {
        const view = inner.session(id);
        if (!view || (ran.has(id) && !never)) return view;
        return { ...view, historyMessages: 0, historyTokens: 0, historyChars: 0, firstMessage: undefined };
      },
    };
  };
}

/** Skips the tools in `skipped` (claude-mem's skip list): neither queued nor private. */
export function skipsTools(factory: SynchronousTargetFactory, skipped: readonly string[]): TargetFactory {
  return (environment) => {
    const inner = factory(environment);
    return { ...delegate(inner), queueObservation: (request) => (skipped.includes(request.toolName) ? { queued: false, reason: 'skipped' } : inner.queueObservation(request)) };
  };
}

/** Reports every eviction as `failed` (a generator that failed for good) instead. */
export function reportsEvictionsAsFailed(factory: SynchronousTargetFactory): TargetFactory {
  return (environment) =>
    factory({ ...environment, observer: { onRemoved: (sessionDbId, reason) => environment.observer?.onRemoved(sessionDbId, reason === 'evicted' ? 'failed' : reason) } });
}
