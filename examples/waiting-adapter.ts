/**
 * An adapter for a manager shaped like claude-mem 13.x (examples/waiting-manager.ts): async
 * routes, a generator that waits for work on an async iterator, a constant idle timeout, a queue
 * kept in memory. Nothing here keeps time or works around the simulator: the routes call the
 * manager and answer with its promises, the manager's iterator is handed to the agent as it is,
 * and what the manager chooses differently from leaksim's reference is declared, not patched:
 *
 *   npx leaksim check --target examples/waiting-adapter.ts --expect examples/waiting-adapter.expect.json
 */
import type { QueueResult, SessionTarget, TargetDescription, TargetFactory } from '../src/contract.ts';
import type { PendingMessage } from '../src/pending-store.ts';
import { GENERATOR_IDLE_MS, SKIPPED_TOOLS, WaitingSessionManager } from './waiting-manager.ts';

export const description: TargetDescription = {
  // A session re-created after its idle period starts again from its first prompt.
  pinnedPrompt: 'first',
  // The queue lives in the worker's memory: a restart loses it, by design.
  queue: 'memory',
  // A waiting generator listens for the next message and for its abort.
  listenersPerSession: 2,
  // A session leaves memory when its generator has waited 3 idle minutes, whatever the TTL setting says.
  fixedSettings: { ttlMs: GENERATOR_IDLE_MS },
  skippedTools: SKIPPED_TOOLS,
  invariantsOff: {
    'restart-after-delay': 'a generator that ends with work still queued (a crash included) is restarted at once: the manager has no restart delay',
  },
  // The parts of leaksim's model it follows: not 'sessions' (no cap), 'generators' (no restart
  // delay) nor 'history' (a prompt hook fired twice reaches the async route of a session the
  // model cannot know yet; see docs/invariants.md, "The model").
  followsModel: ['expiry', 'queue', 'counters', 'resources'],
  heap: { session: { constructorName: 'WaitingSession' }, historyMessage: { properties: ['role', 'content'] } },
};

export const createTarget: TargetFactory = ({ settings, store, agent, observer }) => {
  // The manager keeps no counters; what stats() reports is counted here, from what it tells us.
  let expirations = 0;
  const manager: WaitingSessionManager<PendingMessage> = new WaitingSessionManager(
    store,
    {
      runGenerator: (sessionDbId, signal, messages) =>
        agent.run({
          sessionDbId,
          signal,
          messages,
          claim: () => undefined, // the manager's iterator hands out the messages
          append: (message) => {
            if (!signal.aborted) manager.append(sessionDbId, message);
          },
          ack: (message) => {
            if (!signal.aborted) store.ack(message);
          },
        }),
      onRemoved: (sessionDbId, reason) => {
        if (reason === 'idle') expirations += 1;
        observer?.onRemoved(sessionDbId, reason === 'idle' ? 'expired' : reason);
      },
    },
    settings,
  );

  const queue = async (contentSessionId: string, kind: 'observation' | 'summarize', text: string, toolName?: string): Promise<QueueResult> => {
    const record = store.lookup(contentSessionId);
    if (!record) return { queued: false, reason: 'private' };
    const queued = await manager.queue(record.sessionDbId, record.firstPrompt, kind, text, toolName);
    if (!queued) return { queued: false, reason: 'skipped' };
    return { queued: true, sessionDbId: record.sessionDbId, message: queued.message, created: queued.created };
  };

  const target: SessionTarget = {
    start: () => undefined, // nothing to recover: the queue died with the old worker
    async initializeSession({ contentSessionId, project, userPrompt }) {
      const record = store.recordPrompt(contentSessionId, project, userPrompt);
      const created = await manager.initializeSession(record.sessionDbId, record.firstPrompt, userPrompt);
      return { sessionDbId: record.sessionDbId, promptNumber: record.promptCount, created };
    },
    queueObservation: ({ contentSessionId, toolName, text }) => queue(contentSessionId, 'observation', text, toolName),
    queueSummarize: ({ contentSessionId, text }) => queue(contentSessionId, 'summarize', text),
    deleteSession: (sessionDbId) => manager.deleteSession(sessionDbId),
    completeSession: (sessionDbId) => manager.deleteSession(sessionDbId),
    shutdown: () => manager.shutdown(),
    session(sessionDbId) {
      const session = manager.sessions.get(sessionDbId);
      if (!session) return undefined;
      return {
        sessionDbId,
        contentSessionId: store.recordById(sessionDbId)?.contentSessionId ?? '',
        historyMessages: session.history.length,
        historyTokens: session.history.tokens,
        historyChars: session.history.chars,
        firstMessage: session.history.first(),
        pending: store.pendingCount(sessionDbId),
        generatorRunning: session.generator !== undefined,
      };
    },
    history: (sessionDbId) => manager.sessions.get(sessionDbId)?.history.toArray(),
    sessionCount: () => manager.sessions.size,
    stats() {
      let historyMessages = 0;
      let historyChars = 0;
      let generatorsRunning = 0;
      for (const session of manager.sessions.values()) {
        historyMessages += session.history.length;
        historyChars += session.history.chars;
        if (session.generator) generatorsRunning += 1;
      }
      return { activeSessions: manager.sessions.size, generatorsRunning, historyMessages, historyChars, refusedSessions: 0, evictions: 0, expirations, trimmedMessages: 0 };
    },
    countListeners: () => manager.listenerCount,
  };
  return target;
};
