/**
 * A second stand-in for a third-party session manager, shaped like claude-mem 13.x rather than
 * 8.5.x (examples/claude-mem-like-manager.ts): its routes are `async`; a session's generator is
 * an async iterator over the session's queue that *waits* for the next message and ends after a
 * constant idle period (3 minutes, not a setting); the queue is kept in memory, so a restart loses
 * it; a session is re-created from its first prompt; tools on a skip list are not queued; a
 * generator that keeps crashing makes the session fail for good. It is here so that
 * examples/waiting-adapter.ts has something real to adapt; it knows nothing of leaksim's contract.
 */
import { ConversationHistory, type ConversationMessage, type HistoryLimits } from '../src/history.ts';

/** How long a generator waits for the next message before it ends, and its session with it. A constant, as in claude-mem 13.x. */
export const GENERATOR_IDLE_MS = 3 * 60_000;
/** Tools whose uses are not worth an observation. */
export const SKIPPED_TOOLS: readonly string[] = ['TodoWrite'];
/** A generator that crashes this many times in a row without finishing a message makes its session fail. */
export const CRASHES_MAX = 3;

/** The in-memory queue the manager is given (one per process). */
export interface MessageQueue<Message> {
  enqueue(sessionDbId: number, kind: 'observation' | 'summarize', text: string, toolName?: string): Message;
  claim(sessionDbId: number): Message | undefined;
  requeueInFlight(sessionDbId: number): number;
  dropSession(sessionDbId: number, explicit: boolean): number;
  pendingCount(sessionDbId: number): number;
}

export interface ManagerHooks<Message> {
  /** Runs a session's generator over its messages; settles when the generator stops. */
  runGenerator(sessionDbId: number, signal: AbortSignal, messages: AsyncIterable<Message>): Promise<void>;
  /** A session left memory; called before its queue is released. */
  onRemoved(sessionDbId: number, reason: 'idle' | 'deleted' | 'shutdown' | 'failed'): void;
}

export class WaitingSession {
  readonly history: ConversationHistory;
  /** Rung by the queue route when a message arrives for a waiting generator. */
  readonly bell = new EventTarget();
  controller: AbortController | undefined;
  generator: Promise<void> | undefined;
  crashes = 0;

  constructor(
    readonly sessionDbId: number,
    firstPrompt: string,
    limits: HistoryLimits,
  ) {
    this.history = new ConversationHistory(limits);
    this.history.pin({ role: 'user', content: firstPrompt });
  }
}

export class WaitingSessionManager<Message> {
  readonly sessions = new Map<number, WaitingSession>();
  readonly #queue: MessageQueue<Message>;
  readonly #hooks: ManagerHooks<Message>;
  readonly #limits: HistoryLimits;
  /** Listeners the manager holds right now (a waiting generator holds two: the bell and its abort signal). */
  #listeners = 0;

  constructor(queue: MessageQueue<Message>, hooks: ManagerHooks<Message>, limits: HistoryLimits) {
    this.#queue = queue;
    this.#hooks = hooks;
    this.#limits = limits;
  }

  get listenerCount(): number {
    return this.#listeners;
  }

  /** The init route: creates the session from its first prompt when it is not in memory, and starts its generator. */
  async initializeSession(sessionDbId: number, firstPrompt: string, latestPrompt: string): Promise<boolean> {
    await Promise.resolve(); // the route reads its database first
    const existing = this.sessions.get(sessionDbId);
    const session = existing ?? this.#create(sessionDbId, firstPrompt);
    if (existing) session.history.append({ role: 'user', content: latestPrompt });
    session.bell.dispatchEvent(new Event('message')); // a waiting generator starts its idle period again
    this.#ensureGenerator(session);
    return !existing;
  }

  /** A queue route: undefined for a skipped tool; otherwise the queued message and whether the session was created. */
  async queue(sessionDbId: number, firstPrompt: string, kind: 'observation' | 'summarize', text: string, toolName?: string): Promise<{ message: Message; created: boolean } | undefined> {
    if (toolName !== undefined && SKIPPED_TOOLS.includes(toolName)) return undefined;
    await Promise.resolve();
    const existing = this.sessions.get(sessionDbId);
    const session = existing ?? this.#create(sessionDbId, firstPrompt);
    const message = this.#queue.enqueue(sessionDbId, kind, text, toolName);
    session.bell.dispatchEvent(new Event('message'));
    this.#ensureGenerator(session);
    return { message, created: !existing };
  }

  append(sessionDbId: number, message: ConversationMessage): void {
    const session = this.sessions.get(sessionDbId);
    if (!session) return;
    session.history.append(message);
    if (message.role === 'assistant') session.crashes = 0;
  }

  async deleteSession(sessionDbId: number): Promise<boolean> {
    const session = this.sessions.get(sessionDbId);
    if (!session) return false;
    this.#remove(session, 'deleted');
    session.controller?.abort(new Error('session deleted'));
    await session.generator;
    return true;
  }

  async shutdown(): Promise<void> {
    const sessions = [...this.sessions.values()];
    for (const session of sessions) session.controller?.abort(new Error('worker shutting down'));
    await Promise.all(sessions.map((session) => session.generator));
    for (const session of sessions) if (this.sessions.get(session.sessionDbId) === session) this.#remove(session, 'shutdown');
  }

  #create(sessionDbId: number, firstPrompt: string): WaitingSession {
    const session = new WaitingSession(sessionDbId, firstPrompt, this.#limits);
    this.sessions.set(sessionDbId, session);
    return session;
  }

  #remove(session: WaitingSession, reason: 'idle' | 'deleted' | 'shutdown' | 'failed'): void {
    this.sessions.delete(session.sessionDbId);
    this.#hooks.onRemoved(session.sessionDbId, reason);
    if (reason !== 'shutdown') this.#queue.dropSession(session.sessionDbId, reason === 'deleted');
  }

  #ensureGenerator(session: WaitingSession): void {
    if (session.generator) return;
    const controller = new AbortController(); // one per run: a signal never outlives its generator
    session.controller = controller;
    const run = this.#hooks.runGenerator(session.sessionDbId, controller.signal, this.#messages(session, controller.signal));
    session.generator = run.then(
      () => this.#ended(session, controller, false),
      () => this.#ended(session, controller, true),
    );
  }

  #ended(session: WaitingSession, controller: AbortController, crashed: boolean): void {
    session.generator = undefined;
    session.controller = undefined;
    if (this.sessions.get(session.sessionDbId) !== session) return; // deleted meanwhile
    this.#queue.requeueInFlight(session.sessionDbId);
    if (controller.signal.aborted) return; // whoever aborted it (shutdown) removes the session
    if (crashed) session.crashes += 1;
    if (session.crashes >= CRASHES_MAX) return this.#remove(session, 'failed');
    if (this.#queue.pendingCount(session.sessionDbId) > 0) return this.#ensureGenerator(session);
    this.#remove(session, 'idle'); // the generator waited out its idle period with nothing to do
  }

  /** The session's messages as they are queued: claims the next one, or waits for the bell up to the idle period. */
  async *#messages(session: WaitingSession, signal: AbortSignal): AsyncGenerator<Message> {
    while (!signal.aborted) {
      const message = this.#queue.claim(session.sessionDbId);
      if (message !== undefined) {
        yield message;
        continue;
      }
      if (!(await this.#waitForMessage(session, signal))) return;
    }
  }

  /** Resolves true when a message arrives, false when the idle period passes or the run is aborted. */
  #waitForMessage(session: WaitingSession, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (arrived: boolean) => {
        clearTimeout(timer);
        session.bell.removeEventListener('message', onMessage);
        signal.removeEventListener('abort', onAbort);
        this.#listeners -= 2;
        resolve(arrived);
      };
      const onMessage = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), GENERATOR_IDLE_MS);
      session.bell.addEventListener('message', onMessage);
      signal.addEventListener('abort', onAbort);
      this.#listeners += 2;
    });
  }
}
