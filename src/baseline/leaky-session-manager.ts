/**
 * The leaky baseline: a second, independent implementation of the target contract, written the
 * way claude-mem's SessionManager was (a plain history array, per-session timers as the issue #532
 * analysis sketched them, linear scans), with every flaw of `flaws.ts` behind its own switch.
 *
 * With no flaw switched on it obeys the same rules as the reference, and the test suite holds it
 * to them: that is what makes each single flaw a fair mutant. With `BASELINE_FLAWS` on it behaves
 * like 8.5.7: sessions are never cleaned up and histories grow without bound.
 *
 * It is deliberately not optimised: eviction scans every session, and each session may own a
 * timer. Leaks, not speed, are what it is for.
 */
import { getEventListeners, setMaxListeners } from 'node:events';
import type {
  Agent,
  GeneratorContext,
  InitSessionRequest,
  InitSessionResult,
  ObservationRequest,
  QueueResult,
  RemovalReason,
  SessionObserver,
  SessionTarget,
  SessionView,
  SummarizeRequest,
  TargetEnvironment,
  SynchronousTargetFactory,
  TargetStats,
} from '../contract.ts';
import { SessionLimitError } from '../contract.ts';
import { ConversationHistory, estimateTokens, type ConversationMessage } from '../history.ts';
import type { MessageKind, PendingStore, SessionRecord } from '../pending-store.ts';
import type { RetentionSettings } from '../settings.ts';
import { BASELINE_FLAWS, type FlawName } from './flaws.ts';

/**
 * The analysis's recommended fix, as sketched: keep the last `maxHistoryMessages` messages by
 * splicing from index 0. Bounded, but the init prompt is the first thing it drops.
 */
class SplicedHistory {
  readonly #messages: ConversationMessage[] = [];
  readonly #limits: { readonly maxHistoryMessages: number; readonly maxHistoryTokens: number };
  #tokens = 0;
  #chars = 0;

  constructor(limits: { readonly maxHistoryMessages: number; readonly maxHistoryTokens: number }) {
    this.#limits = limits;
  }

  get length(): number {
    return this.#messages.length;
  }
  get tokens(): number {
    return this.#tokens;
  }
  get chars(): number {
    return this.#chars;
  }
  first(): ConversationMessage | undefined {
    return this.#messages[0];
  }
  pin(message: ConversationMessage): void {
    this.append(message);
  }
  append(message: ConversationMessage): { removed: number } {
    this.#messages.push(message);
    this.#tokens += estimateTokens(message.content);
    this.#chars += message.content.length;
    let removed = 0;
    while (this.#messages.length > 1 && (this.#messages.length > this.#limits.maxHistoryMessages || this.#tokens > this.#limits.maxHistoryTokens)) {
      const [dropped] = this.#messages.splice(0, 1);
      this.#tokens -= estimateTokens(dropped!.content);
      this.#chars -= dropped!.content.length;
      removed += 1;
    }
    return { removed };
  }
  toArray(): ConversationMessage[] {
    return [...this.#messages];
  }
}

/** What the history array of 8.5.7 did: push, never trim. Same surface as ConversationHistory. */
class UnboundedHistory {
  readonly #messages: ConversationMessage[] = [];
  #tokens = 0;
  #chars = 0;

  get length(): number {
    return this.#messages.length;
  }
  get tokens(): number {
    return this.#tokens;
  }
  get chars(): number {
    return this.#chars;
  }
  first(): ConversationMessage | undefined {
    return this.#messages[0];
  }
  pin(message: ConversationMessage): void {
    this.append(message);
  }
  append(message: ConversationMessage): { removed: number } {
    this.#messages.push(message);
    this.#tokens += estimateTokens(message.content);
    this.#chars += message.content.length;
    return { removed: 0 };
  }
  toArray(): ConversationMessage[] {
    return [...this.#messages];
  }
}

/**
 * One session in memory. A class, not an object literal, so that a heap snapshot names it: the
 * heap gate counts `LeakySession` objects to see sessions the manager no longer knows of but a
 * timer or listener still holds.
 */
class LeakySession {
  readonly record: SessionRecord;
  readonly history: ConversationHistory | UnboundedHistory | SplicedHistory;
  generatorPromise: Promise<void> | null = null;
  abortController = new AbortController();
  generatorCount = 0;
  lastActivity: number;
  lastGeneratorActivity = 0;
  claims = 0;
  cleanupTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  watchdogTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  restartTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly onShutdown: () => void;

  constructor(record: SessionRecord, history: ConversationHistory | UnboundedHistory | SplicedHistory, nowMs: number) {
    this.record = record;
    this.history = history;
    this.lastActivity = nowMs;
    this.onShutdown = () => this.abortController.abort(new Error('worker shutting down'));
  }
}

export class LeakySessionManager implements SessionTarget {
  readonly flaws: ReadonlySet<FlawName>;
  readonly #settings: RetentionSettings;
  readonly #store: PendingStore;
  readonly #agent: Agent;
  readonly #observer: SessionObserver | undefined;
  readonly #sessions = new Map<number, LeakySession>();
  readonly #lifetime = new AbortController();
  #closed = false;
  #refused = 0;
  #evictions = 0;
  #expirations = 0;
  #trimmed = 0;

  constructor(environment: TargetEnvironment, flaws: Iterable<FlawName>) {
    this.flaws = new Set(flaws);
    this.#settings = environment.settings;
    this.#store = environment.store;
    this.#agent = environment.agent;
    this.#observer = environment.observer;
    // Unlimited: the leak is what the gates must catch, not a console warning.
    setMaxListeners(0, this.#lifetime.signal);
  }

  start(): void {
    const pending = this.#has('lose-claimed-on-crash') ? this.#store.forgetAllInFlight() : this.#store.recoverInFlight();
    for (const sessionDbId of pending) {
      const record = this.#store.recordById(sessionDbId);
      if (!record) continue;
      this.#startGenerator(this.#create(record));
    }
  }

  initializeSession(request: InitSessionRequest): InitSessionResult {
    if (this.#closed) throw new Error('the session manager has been shut down');
    const known = this.#store.lookup(request.contentSessionId);
    let session = known && this.#sessions.get(known.sessionDbId);
    if (!session) this.#ensureCapacity();
    const record = this.#store.recordPrompt(request.contentSessionId, request.project, request.userPrompt);
    const created = !session;
    if (session) this.#append(session, { role: 'user', content: request.userPrompt });
    else session = this.#create(record);
    this.#newWork(session);
    if (!session.generatorPromise || this.#has('duplicate-generator')) this.#startGenerator(session);
    return { sessionDbId: record.sessionDbId, promptNumber: record.promptCount, created };
  }

  queueObservation(request: ObservationRequest): QueueResult {
    return this.#queue(request.contentSessionId, 'observation', request.text, request.toolName);
  }

  queueSummarize(request: SummarizeRequest): QueueResult {
    return this.#queue(request.contentSessionId, 'summarize', request.text, undefined);
  }

  async deleteSession(sessionDbId: number): Promise<boolean> {
    const session = this.#sessions.get(sessionDbId);
    if (!session) return false;
    const generator = session.generatorPromise;
    this.#remove(session, 'deleted');
    session.abortController.abort(new Error('session deleted'));
    if (generator) await generator;
    return true;
  }

  completeSession(sessionDbId: number): Promise<boolean> {
    return this.deleteSession(sessionDbId);
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
    this.#lifetime.abort(new Error('worker shutting down'));
    const generators = [...this.#sessions.values()].flatMap((session) => (session.generatorPromise ? [session.generatorPromise] : []));
    await Promise.all(generators);
    for (const session of [...this.#sessions.values()]) this.#remove(session, 'shutdown');
  }

  session(sessionDbId: number): SessionView | undefined {
    const session = this.#sessions.get(sessionDbId);
    if (!session) return undefined;
    return {
      sessionDbId,
      contentSessionId: session.record.contentSessionId,
      historyMessages: session.history.length,
      historyTokens: session.history.tokens,
      historyChars: session.history.chars,
      firstMessage: session.history.first(),
      pending: this.#store.pendingCount(sessionDbId),
      generatorRunning: session.generatorPromise !== null,
    };
  }

  history(sessionDbId: number): readonly ConversationMessage[] | undefined {
    return this.#sessions.get(sessionDbId)?.history.toArray();
  }

  stats(): TargetStats {
    let historyMessages = 0;
    let historyChars = 0;
    let generatorsRunning = 0;
    for (const session of this.#sessions.values()) {
      historyMessages += session.history.length;
      historyChars += session.history.chars;
      if (session.generatorPromise) generatorsRunning += 1;
    }
    return {
      activeSessions: this.#sessions.size,
      generatorsRunning,
      historyMessages,
      historyChars,
      refusedSessions: this.#refused,
      evictions: this.#evictions,
      expirations: this.#expirations,
      trimmedMessages: this.#trimmed,
    };
  }

  sessionCount(): number {
    return this.#sessions.size;
  }

  countListeners(): number {
    return getEventListeners(this.#lifetime.signal, 'abort').length;
  }

  #has(flaw: FlawName): boolean {
    return this.flaws.has(flaw);
  }

  #queue(contentSessionId: string, kind: MessageKind, text: string, toolName: string | undefined): QueueResult {
    if (this.#closed) throw new Error('the session manager has been shut down');
    const record = this.#store.lookup(contentSessionId);
    if (!record) return { queued: false, reason: 'private' };
    let session = this.#sessions.get(record.sessionDbId);
    const created = !session;
    if (!session) {
      this.#ensureCapacity();
      session = this.#create(record);
    }
    const message = this.#store.enqueue(record.sessionDbId, kind, text, toolName);
    this.#newWork(session);
    if (!session.generatorPromise && !session.restartTimer) this.#startGenerator(session);
    return { queued: true, sessionDbId: record.sessionDbId, message, created };
  }

  #create(record: SessionRecord): LeakySession {
    const history = this.#has('unbounded-history')
      ? new UnboundedHistory()
      : this.#has('trim-drops-init-prompt')
        ? new SplicedHistory(this.#settings)
        : new ConversationHistory(this.#settings);
    history.pin({ role: 'user', content: record.userPrompt });
    const session = new LeakySession(record, history, Date.now());
    this.#sessions.set(record.sessionDbId, session);
    this.#lifetime.signal.addEventListener('abort', session.onShutdown);
    return session;
  }

  #ensureCapacity(): void {
    if (this.#has('no-session-cap') || this.#sessions.size < this.#settings.maxActiveSessions) return;
    let victim: LeakySession | undefined;
    for (const session of this.#sessions.values()) {
      if (!this.#has('evicts-busy-session') && this.#isBusy(session)) continue;
      if (!victim || session.lastActivity < victim.lastActivity) victim = session;
    }
    if (!victim) {
      this.#refused += 1;
      throw new SessionLimitError(this.#settings.maxActiveSessions);
    }
    this.#evictions += 1;
    this.#remove(victim, 'evicted');
    victim.abortController.abort(new Error('session evicted'));
  }

  #isBusy(session: LeakySession): boolean {
    return session.generatorPromise !== null || this.#store.pendingCount(session.record.sessionDbId) > 0;
  }

  #newWork(session: LeakySession): void {
    session.lastActivity = Date.now();
    if (!this.#has('cleanup-not-cancelled')) this.#cancelCleanup(session);
  }

  #startGenerator(session: LeakySession): void {
    // A generator started by new work while a crash restart is pending replaces that restart.
    clearTimeout(session.restartTimer);
    session.restartTimer = undefined;
    // Reused while clean, as the reference does: replaced once aborted or once a run left a listener
    // on it, unless the flaw shares it regardless; duplicate-generator shares it too, so that one
    // abort still stops every generator it started.
    const signal = session.abortController.signal;
    const reuse = !signal.aborted && (this.#has('signal-shared-across-runs') || this.#has('duplicate-generator') || getEventListeners(signal, 'abort').length === 0);
    if (!reuse) session.abortController = new AbortController();
    const controller = session.abortController;
    session.generatorCount += 1;
    session.claims = 0;
    session.lastGeneratorActivity = Date.now();
    const touch = () => {
      session.lastActivity = Date.now();
      session.lastGeneratorActivity = session.lastActivity;
    };
    // Calls from a run that has ended or been replaced do nothing (an agent may keep its context);
    // duplicate-generator runs several at once, each of them live.
    const runNumber = session.generatorCount;
    const live = () => !controller.signal.aborted && this.#sessions.get(session.record.sessionDbId) === session && (runNumber === session.generatorCount || this.#has('duplicate-generator'));
    const context: GeneratorContext = {
      sessionDbId: session.record.sessionDbId,
      signal: controller.signal,
      claim: () => {
        if (!live()) return undefined;
        touch();
        const message = this.#store.claim(session.record.sessionDbId);
        if (message) session.claims += 1;
        return message;
      },
      append: (message) => {
        if (!live()) return;
        touch();
        this.#append(session, message);
      },
      ack: (message) => {
        if (!live()) return;
        touch();
        this.#store.ack(message);
      },
    };
    let run: Promise<void>;
    try {
      run = this.#agent.run(context);
    } catch (error) {
      run = Promise.reject(error);
    }
    const promise: Promise<void> = run.then(
      () => this.#generatorFinished(session, promise, controller, false),
      () => this.#generatorFinished(session, promise, controller, true),
    );
    session.generatorPromise = promise;
    if (!this.#has('no-generator-watchdog')) this.#armWatchdog(session, controller);
  }

  #armWatchdog(session: LeakySession, controller: AbortController): void {
    clearTimeout(session.watchdogTimer);
    const dueIn = session.lastGeneratorActivity + this.#settings.generatorIdleTimeoutMs - Date.now();
    session.watchdogTimer = setTimeout(() => {
      session.watchdogTimer = undefined;
      if (controller.signal.aborted || controller !== session.abortController) return;
      if (Date.now() - session.lastGeneratorActivity >= this.#settings.generatorIdleTimeoutMs) controller.abort(new Error('generator idle too long'));
      else this.#armWatchdog(session, controller);
    }, Math.max(0, dueIn));
  }

  #generatorFinished(session: LeakySession, promise: Promise<void>, controller: AbortController, crashed: boolean): void {
    if (session.generatorPromise !== promise) return; // a later generator replaced this one
    session.generatorPromise = null;
    clearTimeout(session.watchdogTimer);
    session.watchdogTimer = undefined;
    if (this.#sessions.get(session.record.sessionDbId) !== session) return;
    const id = session.record.sessionDbId;
    if (this.#has('lose-claimed-on-crash')) this.#store.forgetInFlight(id);
    else this.#store.requeueInFlight(id);
    const aborted = controller.signal.aborted;
    if (this.#store.pendingCount(id) === 0) {
      this.#scheduleCleanup(session);
    } else if ((crashed || aborted || session.claims === 0) && !this.#closed) {
      session.restartTimer = setTimeout(() => {
        session.restartTimer = undefined;
        if (this.#sessions.get(id) === session && !session.generatorPromise) this.#startGenerator(session);
      }, this.#settings.generatorRestartDelayMs);
    } else if (!this.#closed) {
      this.#startGenerator(session);
    }
  }

  #scheduleCleanup(session: LeakySession): void {
    if (this.#has('no-idle-cleanup') || this.#closed) return;
    // With the flaw, the handle is overwritten without clearTimeout: the timer from the previous
    // idle period stays armed and fires a TTL after that period began.
    if (!this.#has('cleanup-not-cancelled')) this.#cancelCleanup(session);
    session.cleanupTimer = setTimeout(() => {
      session.cleanupTimer = undefined;
      if (this.#sessions.get(session.record.sessionDbId) !== session) return;
      // The analysis's sketch checked only for a running generator; the correct check is "busy".
      const busy = this.#has('cleanup-not-cancelled') ? session.generatorPromise !== null : this.#isBusy(session);
      if (!busy) {
        this.#expirations += 1;
        this.#remove(session, 'expired');
      }
    }, this.#settings.ttlMs);
  }

  #cancelCleanup(session: LeakySession): void {
    clearTimeout(session.cleanupTimer);
    session.cleanupTimer = undefined;
  }

  #append(session: LeakySession, message: ConversationMessage): void {
    this.#trimmed += session.history.append(message).removed;
  }

  #remove(session: LeakySession, reason: RemovalReason): void {
    const id = session.record.sessionDbId;
    this.#sessions.delete(id);
    if (!this.#has('timer-kept-on-delete')) this.#cancelCleanup(session);
    clearTimeout(session.watchdogTimer);
    clearTimeout(session.restartTimer);
    session.watchdogTimer = undefined;
    session.restartTimer = undefined;
    if (!this.#has('listener-kept-on-delete') || reason === 'shutdown') {
      this.#lifetime.signal.removeEventListener('abort', session.onShutdown);
    }
    this.#observer?.onRemoved(id, reason);
    if (reason === 'deleted') this.#store.dropSession(id, true);
    else if (reason !== 'shutdown') this.#store.dropSession(id, false);
  }
}

/** A target factory for the leaky manager with the given flaws (the 8.5.7 baseline by default). */
export function leakyTarget(flaws: Iterable<FlawName> = BASELINE_FLAWS): SynchronousTargetFactory {
  const set = [...flaws];
  return (environment) => new LeakySessionManager(environment, set);
}
