/**
 * A stand-in for a third-party session manager, shaped like claude-mem's: sessions keyed by the
 * database id, routes that take that id, a generator started per session, a cleanup timer per
 * idle session, `shutdownAll`. It is here only so that examples/adapter.ts has something real to
 * adapt; it knows nothing of leaksim's contract.
 */
import { getEventListeners } from 'node:events';
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
  /**
   * The one thing a session waits for: the idle cleanup, the restart of a crashed generator, or,
   * while its generator runs, the watchdog that aborts a generator silent for the idle timeout.
   */
  cleanupTimer: ReturnType<typeof setTimeout> | undefined;
}

export class ClaudeMemLikeSessionManager {
  readonly sessions = new Map<number, Session>();
  readonly #hooks: SessionHooks;
  readonly #ttlMs: number;
  readonly #limits: { maxHistoryMessages: number; maxHistoryTokens: number };
  readonly #restartDelayMs: number;
  readonly #idleTimeoutMs: number;
  /** Messages each running generator has claimed: one that ended without claiming any is not restarted at once. Kept beside the session, not on it. */
  readonly #claims = new WeakMap<Session, number>();

  constructor(hooks: SessionHooks, options: { ttlMs: number; maxHistoryMessages: number; maxHistoryTokens: number; generatorRestartDelayMs?: number; generatorIdleTimeoutMs?: number }) {
    this.#hooks = hooks;
    this.#ttlMs = options.ttlMs;
    this.#limits = options;
    this.#restartDelayMs = options.generatorRestartDelayMs ?? 1_000;
    this.#idleTimeoutMs = options.generatorIdleTimeoutMs ?? 5 * 60_000;
  }

  /**
   * The generator of a session did something (claimed, appended, acknowledged): its watchdog starts
   * over. A provider call that hangs leaves the generator silent; after the idle timeout it is
   * aborted, its claimed work goes back to the queue, and it is restarted after the delay.
   */
  generatorActivity(sessionDbId: number, claimed = false): void {
    const session = this.sessions.get(sessionDbId);
    if (!session?.generatorPromise) return;
    if (claimed) this.#claims.set(session, (this.#claims.get(session) ?? 0) + 1);
    this.#armWatchdog(session);
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
    // New work cancels the idle cleanup; a running generator's watchdog keeps going.
    if (!session.generatorPromise) this.#cancelCleanup(session);
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
    // A fresh controller when the old one is aborted, or when an agent left its abort listener on
    // it (some SDKs do): a listener per generator run would pile up on a long-lived signal.
    if (session.controller.signal.aborted || getEventListeners(session.controller.signal, 'abort').length > 0) session.controller = new AbortController();
    this.#claims.set(session, 0);
    const promise: Promise<void> = this.#hooks
      .runGenerator(sessionDbId, session.controller.signal)
      .then(
        () => false,
        () => true,
      )
      .then((crashed) => {
        if (session.generatorPromise !== promise || this.sessions.get(sessionDbId) !== session) return;
        session.generatorPromise = null;
        this.#cancelCleanup(session);
        const aborted = session.controller.signal.aborted;
        if (this.#hooks.pendingCount(sessionDbId) === 0) this.#scheduleCleanup(sessionDbId, session);
        // Restarted at once only when it made progress; a generator that crashed, was aborted, or
        // ended without claiming any of the pending work would be restarted again and again.
        else if (crashed || aborted || this.#claims.get(session) === 0) this.#scheduleRestart(sessionDbId, session);
        else this.ensureGenerator(sessionDbId);
      });
    session.generatorPromise = promise;
    this.#armWatchdog(session);
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

  #armWatchdog(session: Session): void {
    this.#cancelCleanup(session);
    session.cleanupTimer = setTimeout(() => {
      session.cleanupTimer = undefined;
      if (session.generatorPromise) session.controller.abort();
    }, this.#idleTimeoutMs);
  }

  #cancelCleanup(session: Session): void {
    clearTimeout(session.cleanupTimer);
    session.cleanupTimer = undefined;
  }
}
