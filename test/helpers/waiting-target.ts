/**
 * A small target whose generator waits for work (GeneratorContext.messages), with leaksim's
 * reference semantics otherwise (latest prompt pinned, persisted queue, TTL from the settings).
 * A session whose generator has waited a TTL with nothing to do is expired *while that generator
 * is still alive*, then the iterator ends: correct, since a generator waiting for work is not busy.
 * Flaws make it break what the checker must see in waiting generators.
 */
import { ConversationHistory } from '../../src/history.ts';
import type { QueueResult, SessionTarget, TargetFactory } from '../../src/contract.ts';
import type { PendingMessage } from '../../src/pending-store.ts';

export interface WaitingFlaws {
  /** Every prompt starts another waiting generator, whether one waits already or not. */
  readonly duplicateGenerators?: boolean;
  /** A session is expired 10 ms after its generator took a message, in the middle of processing it. */
  readonly expireWhileProcessing?: boolean;
  /**
   * deleteSession aborts the session's generators first and waits for them to end, as claude-mem
   * does; then it removes the session ('removes', correct), or forgets to ('keeps': a session left
   * in memory with its generator aborted, which watchdog-not-early reports).
   */
  readonly abortBeforeDelete?: 'removes' | 'keeps';
}

interface Session {
  readonly sessionDbId: number;
  readonly history: ConversationHistory;
  readonly bell: EventTarget;
  readonly controllers: Set<AbortController>;
  readonly runs: Set<Promise<void>>;
  deleting: boolean;
}

export function waitingTarget(flaws: WaitingFlaws = {}): TargetFactory {
  return ({ settings, store, agent, observer }) => {
    const sessions = new Map<number, Session>();
    // What stats() reports, counted as it happens (stats-agree judges these).
    let expirations = 0;
    let generatorsLive = 0;

    const remove = (session: Session, reason: 'expired' | 'deleted' | 'shutdown') => {
      if (sessions.get(session.sessionDbId) !== session) return;
      sessions.delete(session.sessionDbId);
      if (reason === 'expired') expirations += 1;
      observer?.onRemoved(session.sessionDbId, reason);
      if (reason !== 'shutdown') store.dropSession(session.sessionDbId, reason === 'deleted');
      for (const controller of session.controllers) controller.abort(new Error(`session ${reason}`));
    };

    const waitForBell = (session: Session, signal: AbortSignal) =>
      new Promise<boolean>((resolve) => {
        const done = (arrived: boolean) => {
          clearTimeout(timer);
          session.bell.removeEventListener('message', onMessage);
          signal.removeEventListener('abort', onAbort);
          resolve(arrived);
        };
        const onMessage = () => done(true);
        const onAbort = () => done(false);
        const timer = setTimeout(() => done(false), settings.ttlMs);
        session.bell.addEventListener('message', onMessage);
        signal.addEventListener('abort', onAbort);
      });

    async function* messages(session: Session, signal: AbortSignal): AsyncGenerator<PendingMessage> {
      while (!signal.aborted) {
        const message = store.claim(session.sessionDbId);
        if (message) {
          if (flaws.expireWhileProcessing) setTimeout(() => remove(session, 'expired'), 10);
          yield message;
          continue;
        }
        if (!(await waitForBell(session, signal))) {
          if (!signal.aborted) remove(session, 'expired'); // idle a whole TTL, generator still alive
          return;
        }
      }
    }

    const startGenerator = (session: Session) => {
      if (session.controllers.size > 0 && !flaws.duplicateGenerators) return;
      const controller = new AbortController();
      session.controllers.add(controller);
      generatorsLive += 1;
      const signal = controller.signal;
      const run = agent.run({
        sessionDbId: session.sessionDbId,
        signal,
        messages: messages(session, signal),
        claim: () => undefined,
        append: (message) => {
          if (!signal.aborted && sessions.get(session.sessionDbId) === session) session.history.append(message);
        },
        ack: (message) => {
          if (!signal.aborted) store.ack(message);
        },
      });
      const ended = () => {
        generatorsLive -= 1;
        session.controllers.delete(controller);
        if (sessions.get(session.sessionDbId) !== session || session.deleting) return;
        store.requeueInFlight(session.sessionDbId);
        if (store.pendingCount(session.sessionDbId) > 0) startGenerator(session);
      };
      const settled = run.then(ended, ended);
      session.runs.add(settled);
      void settled.then(() => session.runs.delete(settled));
    };

    const sessionFor = (sessionDbId: number, prompt: string): { session: Session; created: boolean } => {
      const existing = sessions.get(sessionDbId);
      if (existing) return { session: existing, created: false };
      const session: Session = { sessionDbId, history: new ConversationHistory(settings), bell: new EventTarget(), controllers: new Set(), runs: new Set(), deleting: false };
      session.history.pin({ role: 'user', content: prompt });
      sessions.set(sessionDbId, session);
      return { session, created: true };
    };

    const queue = (contentSessionId: string, kind: 'observation' | 'summarize', text: string, toolName?: string): QueueResult => {
      const record = store.lookup(contentSessionId);
      if (!record) return { queued: false, reason: 'private' };
      const { session, created } = sessionFor(record.sessionDbId, record.userPrompt);
      const message = store.enqueue(record.sessionDbId, kind, text, toolName);
      session.bell.dispatchEvent(new Event('message'));
      startGenerator(session);
      return { queued: true, sessionDbId: record.sessionDbId, message, created };
    };

    const target: SessionTarget = {
      start() {
        for (const sessionDbId of store.recoverInFlight()) startGenerator(sessionFor(sessionDbId, store.recordById(sessionDbId)!.userPrompt).session);
      },
      initializeSession({ contentSessionId, project, userPrompt }) {
        const record = store.recordPrompt(contentSessionId, project, userPrompt);
        const { session, created } = sessionFor(record.sessionDbId, userPrompt);
        if (!created) session.history.append({ role: 'user', content: userPrompt });
        session.bell.dispatchEvent(new Event('message'));
        startGenerator(session);
        return { sessionDbId: record.sessionDbId, promptNumber: record.promptCount, created };
      },
      queueObservation: ({ contentSessionId, toolName, text }) => queue(contentSessionId, 'observation', text, toolName),
      queueSummarize: ({ contentSessionId, text }) => queue(contentSessionId, 'summarize', text),
      async deleteSession(sessionDbId) {
        const session = sessions.get(sessionDbId);
        if (!session) return false;
        if (flaws.abortBeforeDelete) {
          session.deleting = true;
          for (const controller of session.controllers) controller.abort(new Error('session deleted'));
          await Promise.all([...session.runs]);
          if (flaws.abortBeforeDelete === 'keeps') return true;
        }
        remove(session, 'deleted');
        return true;
      },
      completeSession: (sessionDbId) => target.deleteSession(sessionDbId),
      async shutdown() {
        for (const session of [...sessions.values()]) remove(session, 'shutdown');
      },
      session(sessionDbId) {
        const session = sessions.get(sessionDbId);
        if (!session) return undefined;
        return {
          sessionDbId,
          contentSessionId: store.recordById(sessionDbId)!.contentSessionId,
          historyMessages: session.history.length,
          historyTokens: session.history.tokens,
          historyChars: session.history.chars,
          firstMessage: session.history.first(),
          pending: store.pendingCount(sessionDbId),
          generatorRunning: session.controllers.size > 0,
        };
      },
      history: (sessionDbId) => sessions.get(sessionDbId)?.history.toArray(),
      stats() {
        let historyMessages = 0;
        let historyChars = 0;
        for (const session of sessions.values()) {
          historyMessages += session.history.length;
          historyChars += session.history.chars;
        }
        return { activeSessions: sessions.size, generatorsRunning: generatorsLive, historyMessages, historyChars, refusedSessions: 0, evictions: 0, expirations, trimmedMessages: 0 };
      },
      sessionCount: () => sessions.size,
      countListeners: () => 0,
    };
    return target;
  };
}
