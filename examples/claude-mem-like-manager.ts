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
  /** The idle cleanup, or the restart of a crashed generator: a session waits for one thing at a time. */
  cleanupTimer: ReturnType<typeof setTimeout> | undefined;
}

export class ClaudeMemLikeSessionManager {
  readonly sessions = new Map<number, Session>();
  readonly #hooks: SessionHooks;
  readonly #ttlMs: number;
  readonly #limits: { maxHistoryMessages: number; maxHistoryTokens: number };
  readonly #restartDelayMs: number;

  constructor(hooks: SessionHooks, options: { ttlMs: number; maxHistoryMessages: number; maxHistoryTokens: number; generatorRestartDelayMs?: number }) {
    this.#hooks = hooks;
    this.#ttlMs = options.ttlMs;
    this.#limits = options;
    this.#restartDelayMs = options.generatorRestartDelayMs ?? 1_000;
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

  /**
   * Starts the generator unless one runs. When it stops with nothing pending, cleanup is scheduled;
   * when it crashed with work pending, a restart after a delay (at once, a provider that fails
   * every call would spin).
   */
  ensureGenerator(sessionDbId: number): void {
    const session = this.sessions.get(sessionDbId);
    if (!session || session.generatorPromise) return;
    this.#cancelCleanup(session);
    if (session.controller.signal.aborted) session.controller = new AbortController();
    const promise: Promise<void> = this.#hooks
      .runGenerator(sessionDbId, session.controller.signal)
      .then(
        () => false,
        () => true,
      )
      .then((crashed) => {
        if (session.generatorPromise !== promise || this.sessions.get(sessionDbId) !== session) return;
        session.generatorPromise = null;
        if (this.#hooks.pendingCount(sessionDbId) === 0) this.#scheduleCleanup(sessionDbId, session);
        else if (crashed) this.#scheduleRestart(sessionDbId, session);
        else this.ensureGenerator(sessionDbId);
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

  #scheduleRestart(sessionDbId: number, session: Session): void {
    this.#cancelCleanup(session);
    session.cleanupTimer = setTimeout(() => {
      session.cleanupTimer = undefined;
      this.ensureGenerator(sessionDbId);
    }, this.#restartDelayMs);
  }

  #cancelCleanup(session: Session): void {
    clearTimeout(session.cleanupTimer);
    session.cleanupTimer = undefined;
  }
}
