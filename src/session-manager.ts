/**
 * The reference session manager: claude-mem's SessionManager with the two leaks of issue #532
 * fixed, and the neighbouring bugs the simulator finds closed too.
 *
 * Rules (docs/reference.md, "The reference rules", says the same for users):
 * - A session is busy while its generator runs or it has pending messages; otherwise idle.
 * - An idle session is removed once idle for `ttlMs`. A generator finishing with nothing pending
 *   makes the session idle (cleanup scheduled); new work makes it busy (cleanup cancelled).
 * - At most `maxActiveSessions` sessions. One more evicts the least recently active idle session;
 *   when all are busy the new one is refused with `SessionLimitError`, counted. Busy sessions are
 *   never evicted or expired.
 * - One generator per session. A generator with no activity for `generatorIdleTimeoutMs` is
 *   treated as hung and aborted. A crashed or aborted generator's claimed messages go back to the
 *   queue; with work pending it is restarted after `generatorRestartDelayMs`.
 * - Delete aborts the generator, waits for it and releases the session's queue, listener and
 *   deadlines. Shutdown does that for all: after it, no session, timer or listener remains.
 * - History is bounded on every append (see history.ts).
 *
 * Cost: every operation is O(1) amortized, and the manager holds at most one timer and at most one
 * listener, whatever the number of sessions. The listener is on the worker's lifetime signal, held
 * while any session is: it aborts every session's generator at shutdown. One listener per session
 * (8.5.7's way) would make create and delete O(sessions held), because Node's EventTarget walks
 * its whole listener list on every add (to refuse a duplicate) and remove.
 *
 * Deadlines come in three queues: idle expiry (idle since + TTL), hung generator (last activity +
 * idle timeout) and crash restart (crash time + delay). Each queue's delay is constant and time
 * only moves forward, so insertion order is deadline order: an insertion-ordered queue is a
 * priority queue with O(1) insert, O(1) cancel and the earliest deadline at its head. The queues
 * are linked lists (linked-queue.ts), not insertion-ordered Maps: V8 leaves a deleted Map entry as
 * a hole that iteration steps over, so the head of a Map served from the front costs O(holes).
 * One wake-up timer is armed for the earliest head; it is re-armed only when a deadline earlier
 * than the armed one appears, and otherwise fires early at worst, finds nothing due, and re-arms.
 * Per-session timers (the analysis's sketch) would cost a timer per session.
 */
import { getEventListeners } from 'node:events';
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
} from './contract.ts';
import { SessionLimitError } from './contract.ts';
import { ConversationHistory, type ConversationMessage } from './history.ts';
import { LinkedQueue, QueueLink } from './linked-queue.ts';
import type { MessageKind, PendingMessage, PendingStore, SessionRecord } from './pending-store.ts';
import type { RetentionSettings } from './settings.ts';

class GeneratorRun {
  readonly controller: AbortController;
  lastActivityMs: number;
  claims = 0;
  done: Promise<void> = Promise.resolve();

  constructor(controller: AbortController, nowMs: number) {
    this.controller = controller;
    this.lastActivityMs = nowMs;
  }
}

/** The manager's side of a running generator; one object per manager, not per run. */
interface RunEffects {
  activity(session: ActiveSession, run: GeneratorRun): void;
  append(session: ActiveSession, message: ConversationMessage): void;
  readonly store: PendingStore;
}

/** What the agent holds while its generator runs. Calls from a generator that was replaced or aborted do nothing. */
class RunContext implements GeneratorContext {
  readonly #session: ActiveSession;
  readonly #run: GeneratorRun;
  readonly #effects: RunEffects;

  constructor(session: ActiveSession, run: GeneratorRun, effects: RunEffects) {
    this.#session = session;
    this.#run = run;
    this.#effects = effects;
  }

  get sessionDbId(): number {
    return this.#session.sessionDbId;
  }

  get signal(): AbortSignal {
    return this.#run.controller.signal;
  }

  claim(): PendingMessage | undefined {
    if (!this.#live()) return undefined;
    this.#effects.activity(this.#session, this.#run);
    const message = this.#effects.store.claim(this.#session.sessionDbId);
    if (message) this.#run.claims += 1;
    return message;
  }

  append(message: ConversationMessage): void {
    if (!this.#live()) return;
    this.#effects.activity(this.#session, this.#run);
    this.#effects.append(this.#session, message);
  }

  ack(message: PendingMessage): void {
    if (!this.#live()) return;
    this.#effects.activity(this.#session, this.#run);
    this.#effects.store.ack(message);
  }

  #live(): boolean {
    return this.#session.generator === this.#run && !this.#run.controller.signal.aborted;
  }
}

class ActiveSession {
  readonly history: ConversationHistory;
  generator: GeneratorRun | undefined;
  /**
   * Shared by this session's generator runs while it stays clean: a fresh controller, with its
   * first listener, costs about 4 µs against 0.4 µs for a reused one, and a session starts a
   * generator for nearly every burst of work. Replaced when aborted (8.5.7 reused an aborted
   * signal, so every later generator started dead) and when a run left a listener on it (real
   * SDKs add one per call and do not always remove it: reused regardless, 3,000 runs left 3,000
   * listeners, each holding its run). The manager itself never listens on it.
   */
  controller = new AbortController();
  /** When the session last became idle; meaningful while it is in the idle queue. */
  idleSinceMs = 0;
  /** When its generator crashed; meaningful while it is in the restart queue. */
  crashedAtMs = 0;
  /** Its places in the manager's three deadline queues (see the file comment). */
  readonly idleLink = new QueueLink<ActiveSession>(this);
  readonly runningLink = new QueueLink<ActiveSession>(this);
  readonly restartLink = new QueueLink<ActiveSession>(this);

  constructor(
    readonly record: SessionRecord,
    settings: RetentionSettings,
  ) {
    this.history = new ConversationHistory(settings);
  }

  get sessionDbId(): number {
    return this.record.sessionDbId;
  }
}

export class SessionManager implements SessionTarget {
  readonly #settings: RetentionSettings;
  readonly #store: PendingStore;
  readonly #agent: Agent;
  readonly #observer: SessionObserver | undefined;
  readonly #sessions = new Map<number, ActiveSession>();
  /** Deadline queues, each in deadline order (see the file comment). */
  readonly #idle = new LinkedQueue<ActiveSession>();
  readonly #running = new LinkedQueue<ActiveSession>();
  readonly #restarts = new LinkedQueue<ActiveSession>();
  /** Aborted at shutdown; the manager holds one listener on it while it holds any session. */
  readonly #lifetime = new AbortController();
  /** That one listener: aborts every held session's generator, in the order the sessions were created. */
  readonly #onShutdown = (): void => {
    const reason = this.#lifetime.signal.reason;
    for (const session of this.#sessions.values()) session.controller.abort(reason);
  };
  readonly #runEffects: RunEffects;
  #wakeup: ReturnType<typeof setTimeout> | undefined;
  #wakeupAtMs = Infinity;
  #closed = false;
  #historyMessages = 0;
  #historyChars = 0;
  #trimmedMessages = 0;
  #refused = 0;
  #evictions = 0;
  #expirations = 0;
  /** Generators started and not yet ended, those of removed sessions still stopping included. */
  #generatorsLive = 0;

  constructor(environment: TargetEnvironment) {
    this.#settings = environment.settings;
    this.#store = environment.store;
    this.#runEffects = {
      activity: (session, run) => this.#generatorActivity(session, run),
      append: (session, message) => this.#append(session, message),
      store: environment.store,
    };
    this.#agent = environment.agent;
    this.#observer = environment.observer;
  }

  start(): void {
    for (const sessionDbId of this.#store.recoverInFlight()) {
      const record = this.#store.recordById(sessionDbId);
      if (!record) continue;
      const session = this.#sessionFor(record);
      this.#startGenerator(session);
    }
  }

  initializeSession(request: InitSessionRequest): InitSessionResult {
    this.#assertOpen();
    const known = this.#store.lookup(request.contentSessionId);
    const existing = known && this.#sessions.get(known.sessionDbId);
    // Make room before recording anything, so that a refused prompt leaves no trace.
    if (!existing) this.#makeRoom();
    const record = this.#store.recordPrompt(request.contentSessionId, request.project, request.userPrompt);
    const created = !existing;
    const session = existing ?? this.#sessionFor(record);
    if (!created) this.#append(session, { role: 'user', content: request.userPrompt });
    this.#markBusy(session);
    if (!session.generator) this.#startGenerator(session);
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
    this.#remove(session, 'deleted');
    this.#arm(); // the last deadline may have gone with it
    const generator = session.generator;
    if (generator) {
      generator.controller.abort(new Error('session deleted'));
      await generator.done;
    }
    return true;
  }

  completeSession(sessionDbId: number): Promise<boolean> {
    return this.deleteSession(sessionDbId);
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
    this.#lifetime.abort(new Error('worker shutting down'));
    const generators = [...this.#sessions.values()].flatMap((session) => (session.generator ? [session.generator.done] : []));
    await Promise.all(generators);
    for (const session of [...this.#sessions.values()]) this.#remove(session, 'shutdown');
    this.#disarm();
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
      generatorRunning: session.generator !== undefined,
    };
  }

  history(sessionDbId: number): readonly ConversationMessage[] | undefined {
    return this.#sessions.get(sessionDbId)?.history.toArray();
  }

  stats(): TargetStats {
    return {
      activeSessions: this.#sessions.size,
      generatorsRunning: this.#generatorsLive,
      historyMessages: this.#historyMessages,
      historyChars: this.#historyChars,
      refusedSessions: this.#refused,
      evictions: this.#evictions,
      expirations: this.#expirations,
      trimmedMessages: this.#trimmedMessages,
    };
  }

  sessionCount(): number {
    return this.#sessions.size;
  }

  countListeners(): number {
    return getEventListeners(this.#lifetime.signal, 'abort').length;
  }

  #queue(contentSessionId: string, kind: MessageKind, text: string, toolName: string | undefined): QueueResult {
    this.#assertOpen();
    const record = this.#store.lookup(contentSessionId);
    if (!record) return { queued: false, reason: 'private' };
    let session = this.#sessions.get(record.sessionDbId);
    const created = !session;
    if (!session) {
      this.#makeRoom();
      session = this.#sessionFor(record);
    }
    const message = this.#store.enqueue(record.sessionDbId, kind, text, toolName);
    this.#markBusy(session);
    if (!session.generator && !this.#restarts.has(session.restartLink)) this.#startGenerator(session);
    return { queued: true, sessionDbId: record.sessionDbId, message, created };
  }

  /** Creates the in-memory session for a record, pinned to its latest prompt. The caller made room. */
  #sessionFor(record: SessionRecord): ActiveSession {
    const session = new ActiveSession(record, this.#settings);
    session.history.pin({ role: 'user', content: record.userPrompt });
    this.#historyMessages += 1;
    this.#historyChars += session.history.chars;
    this.#sessions.set(record.sessionDbId, session);
    if (this.#sessions.size === 1) this.#lifetime.signal.addEventListener('abort', this.#onShutdown);
    return session;
  }

  /** Evicts the least recently active idle session when at the cap, or refuses. */
  #makeRoom(): void {
    if (this.#sessions.size < this.#settings.maxActiveSessions) return;
    const idlest = this.#idle.first();
    if (!idlest) {
      this.#refused += 1;
      throw new SessionLimitError(this.#settings.maxActiveSessions);
    }
    this.#evictions += 1;
    this.#remove(idlest, 'evicted');
  }

  #startGenerator(session: ActiveSession): void {
    const signal = session.controller.signal;
    if (signal.aborted || getEventListeners(signal, 'abort').length > 0) session.controller = new AbortController();
    const run = new GeneratorRun(session.controller, performance.now());
    session.generator = run;
    this.#generatorsLive += 1;
    this.#restarts.delete(session.restartLink);
    this.#running.append(session.runningLink);
    const context = new RunContext(session, run, this.#runEffects);
    let outcome: Promise<void>;
    try {
      outcome = this.#agent.run(context);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    run.done = outcome.then(
      () => this.#generatorEnded(session, run, false),
      () => this.#generatorEnded(session, run, true),
    );
    this.#arm();
  }

  #generatorActivity(session: ActiveSession, run: GeneratorRun): void {
    const nowMs = performance.now();
    if (nowMs === run.lastActivityMs) return; // already at the back of the queue
    run.lastActivityMs = nowMs;
    // Moving the session to the back keeps the hung-generator queue in deadline order.
    this.#running.moveToBack(session.runningLink);
  }

  #generatorEnded(session: ActiveSession, run: GeneratorRun, crashed: boolean): void {
    this.#generatorsLive -= 1;
    if (session.generator !== run) return;
    session.generator = undefined;
    this.#running.delete(session.runningLink);
    const aborted = run.controller.signal.aborted;
    if (this.#sessions.get(session.sessionDbId) !== session) return; // deleted meanwhile: its queue is gone
    this.#store.requeueInFlight(session.sessionDbId);
    if (this.#store.pendingCount(session.sessionDbId) === 0) {
      this.#markIdle(session);
    } else if (crashed || aborted || run.claims === 0) {
      // A generator that ended without taking any of the pending work would be restarted at once,
      // forever: treat it like a crash and restart after the delay.
      if (this.#closed) return;
      session.crashedAtMs = performance.now();
      this.#restarts.append(session.restartLink);
    } else {
      this.#startGenerator(session);
    }
    this.#arm();
  }

  #append(session: ActiveSession, message: ConversationMessage): void {
    const before = session.history.chars;
    const { removed } = session.history.append(message);
    this.#historyMessages += 1 - removed;
    this.#historyChars += session.history.chars - before;
    this.#trimmedMessages += removed;
  }

  #markBusy(session: ActiveSession): void {
    this.#idle.delete(session.idleLink); // cancels the scheduled cleanup
  }

  #markIdle(session: ActiveSession): void {
    session.idleSinceMs = performance.now();
    this.#idle.moveToBack(session.idleLink);
  }

  #remove(session: ActiveSession, reason: RemovalReason): void {
    const id = session.sessionDbId;
    this.#sessions.delete(id);
    this.#idle.delete(session.idleLink);
    this.#running.delete(session.runningLink);
    this.#restarts.delete(session.restartLink);
    if (this.#sessions.size === 0) this.#lifetime.signal.removeEventListener('abort', this.#onShutdown);
    this.#historyMessages -= session.history.length;
    this.#historyChars -= session.history.chars;
    if (reason === 'expired') this.#expirations += 1;
    // Reported before the pending work is released, so an observer can still see what it held.
    this.#observer?.onRemoved(id, reason);
    if (reason === 'deleted') this.#store.dropSession(id, true);
    else if (reason !== 'shutdown') this.#store.dropSession(id, false);
  }

  /**
   * Arms the wake-up for the earliest deadline, unless an earlier-or-equal one is armed already
   * (a later deadline is served by the early wake-up re-arming). With no deadline left, holds no
   * timer at all: a manager with nothing to wait for must not keep the process awake.
   */
  #arm(): void {
    if (this.#closed) return;
    const dueMs = this.#nextDeadline();
    if (dueMs === Infinity) return this.#disarm();
    if (dueMs >= this.#wakeupAtMs) return;
    this.#disarm();
    this.#wakeupAtMs = dueMs;
    this.#wakeup = setTimeout(() => this.#wake(), Math.max(0, dueMs - performance.now()));
  }

  #disarm(): void {
    if (this.#wakeup !== undefined) clearTimeout(this.#wakeup);
    this.#wakeup = undefined;
    this.#wakeupAtMs = Infinity;
  }

  #nextDeadline(): number {
    const { ttlMs, generatorIdleTimeoutMs, generatorRestartDelayMs } = this.#settings;
    const idle = this.#idle.first();
    const running = this.#running.first();
    const restart = this.#restarts.first();
    return Math.min(
      idle ? idle.idleSinceMs + ttlMs : Infinity,
      running?.generator ? running.generator.lastActivityMs + generatorIdleTimeoutMs : Infinity,
      restart ? restart.crashedAtMs + generatorRestartDelayMs : Infinity,
    );
  }

  #wake(): void {
    this.#wakeup = undefined;
    this.#wakeupAtMs = Infinity;
    // Shutdown is waiting for generators that take a while to end: a restart due meanwhile must
    // not start a new one behind its back (found with the agent's abortLagMs).
    if (this.#closed) return;
    const nowMs = performance.now();
    const { ttlMs, generatorIdleTimeoutMs, generatorRestartDelayMs } = this.#settings;
    for (let session = this.#restarts.first(); session && session.crashedAtMs + generatorRestartDelayMs <= nowMs; session = this.#restarts.first()) {
      this.#restarts.delete(session.restartLink);
      if (!session.generator) this.#startGenerator(session);
    }
    for (let session = this.#running.first(); session?.generator && session.generator.lastActivityMs + generatorIdleTimeoutMs <= nowMs; session = this.#running.first()) {
      // Hung: abort it. Its end puts claimed work back and schedules a restart.
      this.#running.delete(session.runningLink);
      session.generator.controller.abort(new Error('generator idle too long'));
    }
    for (let session = this.#idle.first(); session && session.idleSinceMs + ttlMs <= nowMs; session = this.#idle.first()) {
      this.#remove(session, 'expired');
    }
    this.#arm();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('the session manager has been shut down');
  }
}

/** The reference as a target factory, for the simulator and for tests. */
export const referenceTarget: SynchronousTargetFactory = (environment) => new SessionManager(environment);
