/**
 * A stand-in for a third-party session manager, shaped like claude-mem's: sessions keyed by the
 * database id, routes that take that id, a generator started per session, a cleanup timer per
 * idle session, `shutdownAll`. It is here only so that examples/adapter.ts has something real to
 * adapt; it knows nothing of leaksim's contract.
 */
import { ConversationHistory, type ConversationMessage } from '../src/history.ts';

export interface QueuedWork {
  readonly id: number;
  readonly text: string;
}

export interface SessionHooks {
  /** Runs the session's generator; settles when it stops. */
  runGenerator(sessionDbId: number, signal: AbortSignal): Promise<void>;
  onDeleted(sessionDbId: number, reason: 'idle' | 'deleted' | 'shutdown'): void;
  pendingCount(sessionDbId: number): number;
}

interface Session {
  readonly history: ConversationHistory;
  controller: AbortController;
  generatorPromise: Promise<void> | null;
  cleanupTimer: ReturnType<typeof setTimeout> | undefined;
}

export class ClaudeMemLikeSessionManager {
  readonly sessions = new Map<number, Session>();
  readonly #hooks: SessionHooks;
  readonly #ttlMs: number;
  readonly #limits: { maxHistoryMessages: number; maxHistoryTokens: number };

  constructor(hooks: SessionHooks, options: { ttlMs: number; maxHistoryMessages: number; maxHistoryTokens: number }) {
    this.#hooks = hooks;
    this.#ttlMs = options.ttlMs;
    this.#limits = options;
  }

  initializeSession(sessionDbId: number, userPrompt: string): Session {
    let session = this.sessions.get(sessionDbId);
    if (!session) {
      session = { history: new ConversationHistory(this.#limits), controller: new AbortController(), generatorPromise: null, cleanupTimer: undefined };
      session.history.pin({ role: 'user', content: userPrompt });
      this.sessions.set(sessionDbId, session);
    } else {
      session.history.append({ role: 'user', content: userPrompt });
    }
    this.#cancelCleanup(session);
    return session;
  }

  appendToHistory(sessionDbId: number, message: ConversationMessage): void {
    this.sessions.get(sessionDbId)?.history.append(message);
  }

  /** Starts the generator unless one runs; when it stops with nothing pending, cleanup is scheduled. */
  ensureGenerator(sessionDbId: number): void {
    const session = this.sessions.get(sessionDbId);
    if (!session || session.generatorPromise) return;
    this.#cancelCleanup(session);
    if (session.controller.signal.aborted) session.controller = new AbortController();
    const promise: Promise<void> = this.#hooks
      .runGenerator(sessionDbId, session.controller.signal)
      .catch(() => undefined)
      .then(() => {
        if (session.generatorPromise !== promise || this.sessions.get(sessionDbId) !== session) return;
        session.generatorPromise = null;
        if (this.#hooks.pendingCount(sessionDbId) > 0) this.ensureGenerator(sessionDbId);
        else this.#scheduleCleanup(sessionDbId, session);
      });
    session.generatorPromise = promise;
  }

  async deleteSession(sessionDbId: number, reason: 'idle' | 'deleted' | 'shutdown' = 'deleted'): Promise<void> {
    const session = this.sessions.get(sessionDbId);
    if (!session) return;
    this.sessions.delete(sessionDbId);
    this.#cancelCleanup(session);
    this.#hooks.onDeleted(sessionDbId, reason);
    session.controller.abort();
    await session.generatorPromise;
  }

  async shutdownAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.deleteSession(id, 'shutdown')));
  }

  #scheduleCleanup(sessionDbId: number, session: Session): void {
    this.#cancelCleanup(session);
    session.cleanupTimer = setTimeout(() => {
      session.cleanupTimer = undefined;
      if (!session.generatorPromise && this.#hooks.pendingCount(sessionDbId) === 0) void this.deleteSession(sessionDbId, 'idle');
    }, this.#ttlMs);
  }

  #cancelCleanup(session: Session): void {
    clearTimeout(session.cleanupTimer);
    session.cleanupTimer = undefined;
  }
}
