/**
 * An adapter: leaksim's target contract over a session manager that knows nothing of leaksim
 * (examples/claude-mem-like-manager.ts). Use it as a template for your own:
 *
 *   npx leaksim run scenarios/steady-week.json --target examples/adapter.ts
 *
 * What an adapter does:
 * - plays the worker's routes: the database (the `store`) maps content session ids to database
 *   ids and persists the queue; the manager holds what is in memory;
 * - runs the manager's generators with the simulator's `agent`, through a GeneratorContext;
 * - reports every removal to the `observer` before the session's queue is released;
 * - answers the read-only views from the manager's state.
 * This manager has no session cap, so `initializeSession` never throws SessionLimitError.
 */
import { getEventListeners } from 'node:events';
import type { SessionTarget, TargetDescription, TargetFactory } from '../src/contract.ts';
import { ClaudeMemLikeSessionManager } from './claude-mem-like-manager.ts';

/**
 * This manager keeps leaksim's reference semantics, so it declares only which parts of the model
 * it follows and how the heap gate finds its objects: a session is a plain object of this shape,
 * a history message a `{ role, content }` literal.
 */
export const description: TargetDescription = {
  // The parts of leaksim's model of the retention rules it follows (matches-model judges them
  // after every event). Not 'sessions' (no cap, like 8.5.x) nor 'generators' (no watchdog).
  followsModel: ['expiry', 'history', 'queue', 'counters', 'resources'],
  heap: {
    session: { properties: ['history', 'controller', 'generatorPromise', 'cleanupTimer'] },
    historyMessage: { properties: ['role', 'content'] },
  },
};

export const createTarget: TargetFactory = ({ settings, store, agent, observer }) => {
  let expirations = 0;
  const manager: ClaudeMemLikeSessionManager = new ClaudeMemLikeSessionManager(
    {
      runGenerator: (sessionDbId, signal) => {
        // An agent may keep the context after its run ended: from then on it can do nothing.
        let ended = false;
        const live = () => !ended && !signal.aborted;
        return agent.run({
          sessionDbId,
          signal,
          claim: () => {
            if (!live()) return undefined;
            const message = store.claim(sessionDbId);
            manager.generatorActivity(sessionDbId, message !== undefined);
            return message;
          },
          append: (message) => {
            if (!live()) return;
            manager.generatorActivity(sessionDbId);
            manager.appendToHistory(sessionDbId, message);
          },
          ack: (message) => {
            if (!live()) return;
            manager.generatorActivity(sessionDbId);
            store.ack(message);
          },
        }).then(
          // Work a generator claimed and did not finish goes back to the queue, however it ended
          // (an aborted generator may return quietly), unless the session was deleted with its queue.
          () => {
            ended = true;
            if (manager.sessions.has(sessionDbId)) store.requeueInFlight(sessionDbId);
          },
          (error: unknown) => {
            ended = true;
            store.requeueInFlight(sessionDbId);
            throw error;
          },
        );
      },
      onDeleted: (sessionDbId, reason) => {
        if (reason === 'idle') expirations += 1;
        observer?.onRemoved(sessionDbId, reason === 'idle' ? 'expired' : reason);
        if (reason === 'deleted') store.dropSession(sessionDbId, true);
      },
      pendingCount: (sessionDbId) => store.pendingCount(sessionDbId),
    },
    settings,
  );

  const queue = (contentSessionId: string, kind: 'observation' | 'summarize', text: string, toolName?: string) => {
    const record = store.lookup(contentSessionId);
    if (!record) return { queued: false as const, reason: 'private' as const };
    const created = !manager.sessions.has(record.sessionDbId);
    // Only a session not in memory is (re-)created from its prompt; one in memory already has it.
    if (created) manager.initializeSession(record.sessionDbId, record.userPrompt);
    const message = store.enqueue(record.sessionDbId, kind, text, toolName);
    manager.ensureGenerator(record.sessionDbId);
    return { queued: true as const, sessionDbId: record.sessionDbId, message, created };
  };

  const target: SessionTarget = {
    start() {
      for (const sessionDbId of store.recoverInFlight()) {
        const record = store.recordById(sessionDbId);
        if (!record) continue;
        manager.initializeSession(sessionDbId, record.userPrompt);
        manager.ensureGenerator(sessionDbId);
      }
    },
    initializeSession({ contentSessionId, project, userPrompt }) {
      const created = !manager.sessions.has(store.lookup(contentSessionId)?.sessionDbId ?? -1);
      const record = store.recordPrompt(contentSessionId, project, userPrompt);
      manager.initializeSession(record.sessionDbId, userPrompt);
      manager.ensureGenerator(record.sessionDbId);
      return { sessionDbId: record.sessionDbId, promptNumber: record.promptCount, created };
    },
    queueObservation: ({ contentSessionId, toolName, text }) => queue(contentSessionId, 'observation', text, toolName),
    queueSummarize: ({ contentSessionId, text }) => queue(contentSessionId, 'summarize', text),
    async deleteSession(sessionDbId) {
      if (!manager.sessions.has(sessionDbId)) return false;
      await manager.deleteSession(sessionDbId);
      return true;
    },
    completeSession: (sessionDbId) => target.deleteSession(sessionDbId),
    shutdown: () => manager.shutdownAll(),
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
        generatorRunning: session.generatorPromise !== null,
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
        if (session.generatorPromise) generatorsRunning += 1;
      }
      return { activeSessions: manager.sessions.size, generatorsRunning, historyMessages, historyChars, refusedSessions: 0, evictions: 0, expirations, trimmedMessages: 0 };
    },
    countListeners: () => [...manager.sessions.values()].reduce((sum, session) => sum + getEventListeners(session.controller.signal, 'abort').length, 0),
  };
  return target;
};
