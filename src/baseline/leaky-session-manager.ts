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
import { CHARS_PER_TOKEN, ConversationHistory, estimateTokens, type ConversationMessage } from '../history.ts';
import type { MessageKind, PendingStore, SessionRecord } from '../pending-store.ts';
import { SETTING_KEYS, parseSettings, type RetentionSettings } from '../settings.ts';
import { BASELINE_FLAWS, type FlawName } from './flaws.ts';

/** The reader's key table with the slip: the TTL read in seconds instead of minutes. */
const SLIPPED_SETTING_KEYS = SETTING_KEYS.map((spec) => (spec.field === 'ttlMs' ? { ...spec, scale: 1_000 } : spec));

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

/**
 * Trims like the reference (oldest unpinned first, the init prompt kept) but stops as soon as the
 * bounds hold: when a prompt goes and its reply stays, the reply is left first after the pinned
 * prompt, an answer without its question.
 */
class OrphaningHistory {
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
    this.#push(fit(message, Math.floor(this.#limits.maxHistoryTokens / 2)));
  }
  append(message: ConversationMessage): { removed: number } {
    // Oversized messages are cut to fit as the reference cuts them: only the trim differs.
    this.#push(fit(message, this.#limits.maxHistoryTokens - estimateTokens(this.#messages[0]?.content ?? '')));
    let removed = 0;
    while (this.#messages.length > 1 && (this.#messages.length > this.#limits.maxHistoryMessages || this.#tokens > this.#limits.maxHistoryTokens)) {
      const [dropped] = this.#messages.splice(1, 1);
      this.#tokens -= estimateTokens(dropped!.content);
      this.#chars -= dropped!.content.length;
      removed += 1;
    }
    return { removed };
  }
  toArray(): ConversationMessage[] {
    return [...this.#messages];
  }
  #push(message: ConversationMessage): void {
    this.#messages.push(message);
    this.#tokens += estimateTokens(message.content);
    this.#chars += message.content.length;
  }
}

function fit(message: ConversationMessage, roomTokens: number): ConversationMessage {
  if (estimateTokens(message.content) <= roomTokens) return message;
  return { role: message.role, content: message.content.slice(0, Math.max(0, roomTokens) * CHARS_PER_TOKEN) };
}

/**
 * The reference's trimming written as a plain array, with two slips behind switches: `overTrim`
 * trims while the history holds the bound or more (`>=` for `>`), `tokenDrift` takes a trimmed
 * message's tokens off the total rounded down. Both keep every bound.
 */
class SlippedHistory {
  readonly #messages: ConversationMessage[] = [];
  readonly #limits: { readonly maxHistoryMessages: number; readonly maxHistoryTokens: number };
  readonly #overTrim: boolean;
  readonly #tokenDrift: boolean;
  #tokens = 0;
  #chars = 0;

  constructor(limits: { readonly maxHistoryMessages: number; readonly maxHistoryTokens: number }, slips: { readonly overTrim: boolean; readonly tokenDrift: boolean }) {
    this.#limits = limits;
    this.#overTrim = slips.overTrim;
    this.#tokenDrift = slips.tokenDrift;
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
    this.#push(fit(message, Math.floor(this.#limits.maxHistoryTokens / 2)));
  }
  append(message: ConversationMessage): { removed: number } {
    this.#push(fit(message, this.#limits.maxHistoryTokens - estimateTokens(this.#messages[0]?.content ?? '')));
    const { maxHistoryMessages, maxHistoryTokens } = this.#limits;
    const over = () => (this.#overTrim ? this.#messages.length >= maxHistoryMessages : this.#messages.length > maxHistoryMessages) || this.#tokens > maxHistoryTokens;
    let removed = 0;
    while (this.#messages.length > 1 && over()) removed += this.#dropSecond();
    if (removed > 0) while (this.#messages[1]?.role === 'assistant') removed += this.#dropSecond();
    return { removed };
  }
  toArray(): ConversationMessage[] {
    return [...this.#messages];
  }
  #dropSecond(): number {
    const [dropped] = this.#messages.splice(1, 1);
    this.#tokens -= this.#tokenDrift ? Math.floor(dropped!.content.length / CHARS_PER_TOKEN) : estimateTokens(dropped!.content);
    this.#chars -= dropped!.content.length;
    return 1;
  }
  #push(message: ConversationMessage): void {
    this.#messages.push(message);
    this.#tokens += estimateTokens(message.content);
    this.#chars += message.content.length;
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
  readonly history: ConversationHistory | UnboundedHistory | SplicedHistory | OrphaningHistory | SlippedHistory;
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

  /** With wakeup-not-rearmed: when its idle expiry falls due on the shared wake-up (Infinity: none). */
  cleanupDueMs = Infinity;
  /** With wakeup-not-rearmed: when its generator's silence is next checked, and which generator (Infinity: none). */
  watchdogDueMs = Infinity;
  watchdogController: AbortController | undefined = undefined;

  constructor(record: SessionRecord, history: ConversationHistory | UnboundedHistory | SplicedHistory | OrphaningHistory | SlippedHistory, nowMs: number) {
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
  /** The shared wake-up of wakeup-not-rearmed (unused otherwise: each session owns its timers). */
  #wakeup: ReturnType<typeof setTimeout> | undefined = undefined;
  #refused = 0;
  #evictions = 0;
  #expirations = 0;
  #trimmed = 0;

  constructor(environment: TargetEnvironment, flaws: Iterable<FlawName>) {
    this.flaws = new Set(flaws);
    // The settings reader's slip applies only where there is a file to read.
    this.#settings = this.flaws.has('ttl-read-as-seconds') && environment.settingsFile ? parseSettings(environment.settingsFile.text, environment.settingsFile.file, environment.settings, SLIPPED_SETTING_KEYS) : environment.settings;
    this.#store = environment.store;
    this.#agent = environment.agent;
    this.#observer = environment.observer;
    // Unlimited: the leak is what the gates must catch, not a console warning.
    setMaxListeners(0, this.#lifetime.signal);
  }

  start(): void {
    // The slip: the sessions to resume are listed before in-flight work goes back to the queue.
    const queuedBefore = this.#has('recovery-skips-in-flight') ? this.#sessionsWithQueuedWork() : undefined;
    let pending = this.#has('lose-claimed-on-crash') ? this.#store.forgetAllInFlight() : this.#store.recoverInFlight();
    if (queuedBefore) pending = pending.filter((sessionDbId) => queuedBefore.has(sessionDbId));
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
    if (!this.#has('shutdown-does-not-wait')) await Promise.all(generators);
    for (const session of [...this.#sessions.values()]) this.#remove(session, 'shutdown');
    clearTimeout(this.#wakeup);
    this.#wakeup = undefined;
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

  #sessionsWithQueuedWork(): Set<number> {
    const ids = new Set<number>();
    for (let id = 1; id <= this.#store.recordCount(); id += 1) if (this.#store.queuedCount(id) > 0) ids.add(id);
    return ids;
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
        : this.#has('trim-leaves-orphan-reply')
          ? new OrphaningHistory(this.#settings)
          : this.#has('over-trim') || this.#has('tokens-drift-on-trim')
            ? new SlippedHistory(this.#settings, { overTrim: this.#has('over-trim'), tokenDrift: this.#has('tokens-drift-on-trim') })
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
      const chosen = victim === undefined || (this.#has('evicts-latest-idle') ? session.lastActivity > victim.lastActivity : session.lastActivity < victim.lastActivity);
      if (chosen) victim = session;
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
      if (!this.#has('watchdog-from-start')) session.lastGeneratorActivity = session.lastActivity;
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
    if (this.#has('wakeup-not-rearmed')) {
      session.watchdogDueMs = session.lastGeneratorActivity + this.#settings.generatorIdleTimeoutMs;
      session.watchdogController = controller;
      return this.#armWakeup(session.watchdogDueMs);
    }
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
    session.watchdogDueMs = Infinity;
    if (this.#sessions.get(session.record.sessionDbId) !== session) return;
    const id = session.record.sessionDbId;
    if (this.#has('lose-claimed-on-crash')) this.#store.forgetInFlight(id);
    else if (this.#has('requeue-at-back')) this.#store.requeueInFlightAtBack(id);
    else this.#store.requeueInFlight(id);
    const aborted = controller.signal.aborted;
    if (this.#store.pendingCount(id) === 0) {
      this.#scheduleCleanup(session);
    } else if ((crashed || aborted || session.claims === 0) && !this.#closed) {
      session.restartTimer = setTimeout(() => {
        session.restartTimer = undefined;
        if (this.#sessions.get(id) === session && !session.generatorPromise && !this.#closed) this.#startGenerator(session);
      }, this.#has('restart-without-delay') ? 0 : this.#settings.generatorRestartDelayMs);
    } else if (!this.#closed) {
      this.#startGenerator(session);
    }
  }

  #scheduleCleanup(session: LeakySession): void {
    if (this.#has('no-idle-cleanup') || this.#closed) return;
    // With the flaw, the handle is overwritten without clearTimeout: the timer from the previous
    // idle period stays armed and fires a TTL after that period began.
    if (!this.#has('cleanup-not-cancelled')) this.#cancelCleanup(session);
    if (this.#has('wakeup-not-rearmed')) {
      session.cleanupDueMs = Date.now() + this.#settings.ttlMs;
      return this.#armWakeup(session.cleanupDueMs);
    }
    session.cleanupTimer = setTimeout(() => {
      session.cleanupTimer = undefined;
      if (this.#sessions.get(session.record.sessionDbId) !== session) return;
      // The analysis's sketch checked only for a running generator; the correct check is "busy".
      const busy = this.#has('cleanup-not-cancelled') ? session.generatorPromise !== null : this.#isBusy(session);
      if (!busy) {
        if (!this.#has('expirations-uncounted')) this.#expirations += 1;
        this.#remove(session, 'expired');
      }
    }, this.#settings.ttlMs);
  }

  #cancelCleanup(session: LeakySession): void {
    clearTimeout(session.cleanupTimer);
    session.cleanupTimer = undefined;
    session.cleanupDueMs = Infinity;
  }

  /**
   * wakeup-not-rearmed: one wake-up timer serves every idle expiry and every generator's silence
   * check. The slip: a wake-up already armed is kept even when `dueMs` falls before it, so a
   * session going idle with a TTL shorter than a running generator's idle timeout waits for the
   * generator's check.
   */
  #armWakeup(dueMs: number): void {
    if (this.#wakeup !== undefined || this.#closed) return;
    this.#wakeup = setTimeout(() => this.#wake(), Math.max(0, dueMs - Date.now()));
  }

  #wake(): void {
    this.#wakeup = undefined;
    if (this.#closed) return;
    const nowMs = Date.now();
    for (const session of [...this.#sessions.values()]) {
      if (session.watchdogDueMs <= nowMs) {
        session.watchdogDueMs = Infinity;
        const controller = session.watchdogController;
        if (controller && !controller.signal.aborted && controller === session.abortController && session.generatorPromise) {
          if (nowMs - session.lastGeneratorActivity >= this.#settings.generatorIdleTimeoutMs) controller.abort(new Error('generator idle too long'));
          else session.watchdogDueMs = session.lastGeneratorActivity + this.#settings.generatorIdleTimeoutMs;
        }
      }
      if (session.cleanupDueMs <= nowMs) {
        session.cleanupDueMs = Infinity;
        if (this.#sessions.get(session.record.sessionDbId) === session && !this.#isBusy(session)) {
          if (!this.#has('expirations-uncounted')) this.#expirations += 1;
          this.#remove(session, 'expired');
        }
      }
    }
    let nextMs = Infinity;
    for (const session of this.#sessions.values()) nextMs = Math.min(nextMs, session.watchdogDueMs, session.cleanupDueMs);
    if (nextMs < Infinity) this.#armWakeup(nextMs);
  }

  #append(session: LeakySession, message: ConversationMessage): void {
    this.#trimmed += session.history.append(message).removed;
  }

  #remove(session: LeakySession, reason: RemovalReason): void {
    const id = session.record.sessionDbId;
    this.#sessions.delete(id);
    if (!this.#has('timer-kept-on-delete')) this.#cancelCleanup(session);
    session.watchdogDueMs = Infinity;
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
