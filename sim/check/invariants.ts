/**
 * The checker: judges the target after every event. It never generates traffic.
 *
 * Ground truth comes from outside the target wherever it can: busy-ness from the persisted store
 * (pending messages) and the simulated agent (running generators); timers from the fake clock;
 * listeners from Node's own count; message accounting from what the driver enqueued and the agent
 * acknowledged. What only the target knows (its session count, a session's history) it reads
 * through the contract's views.
 *
 * Cost per event is independent of the number of sessions: only sessions touched by the event are
 * re-examined, and "idle too long" looks at the head of an insertion-ordered map of idle sessions
 * (the longest idle first). Timer and listener counts are O(n) to read, so they are checked at
 * every metrics sample instead of every event.
 *
 * The reference's rules about generators, shutdown and counters live in sim/check/rule-invariants.ts
 * (queue order in sim/check/claim-order.ts); the checker hands them what the driver tells it. A target's
 * declaration may switch invariants off: they are then neither judged nor reported.
 */
import { getEventListeners } from 'node:events';
import type { RemovalReason, SessionTarget, TargetDescription, TargetStats } from '../../src/contract.ts';
import type { PendingMessage, PendingStore } from '../../src/pending-store.ts';
import type { RetentionSettings } from '../../src/settings.ts';
import type { RunEnd } from '../engine/agent.ts';
import { LinkedQueue, QueueLink } from '../../src/linked-queue.ts';
import { RuleInvariants } from './rule-invariants.ts';
import { INVARIANT_NAMES, type InvariantName } from './catalogue.ts';
import { RetentionModel } from './model.ts';
import type { ConversationMessage } from '../../src/history.ts';
import { formatMs } from '../engine/sim-time.ts';

/** Idle sessions must be gone within the TTL plus this: the reference expires on time to the millisecond; one second allows a target to sweep on a coarse timer. */
export const EXPIRY_GRANULARITY_MS = 1_000;
/** Timers and listeners a target may hold beyond one per active session (a sweep timer, a shutdown hook, …). */
export const RESOURCE_SLACK = 4;
/** no-orphan-reply reads every history this many times, then one chance in ORPHAN_CHECK_STRIDE. */
export const ORPHAN_CHECKS_EVERY_TIME = 64;
export const ORPHAN_CHECK_STRIDE = 8;
/** A run keeps at most this many violations per invariant; the rest are only counted. */
export const VIOLATIONS_KEPT_PER_INVARIANT = 20;

export interface Violation {
  readonly invariant: InvariantName;
  readonly atMs: number;
  readonly sessionDbId?: number;
  readonly detail: string;
}

/** A session's live generator runs, counted from the agent whether or not the session is known yet. */
interface LiveRuns {
  /** Live runs, waiting ones included (one-generator-per-session counts them all). */
  runs: number;
  /** Of `runs`, those that wait for work on the target's iterator: busy only while processing. */
  waitingRuns: number;
  /** Messages a waiting run is processing right now. */
  processing: number;
}

interface TrackedSession {
  readonly sessionDbId: number;
  readonly pinned: string;
  idleSinceMs: number;
  /** Its generator runs, shared with the run counts kept by session id (a run may start before the session is reported created). */
  readonly live: LiveRuns;
  /** Whether a generator has ever run for it (for `historyEmptyUntilGenerator`). */
  everRan: boolean;
  /** Reported an orphan reply: once per session is enough. */
  orphanReported: boolean;
  /** Examines at which this session's history could have been read for an orphan reply. */
  orphanChances: number;
  /** Its places in the checker's two idle queues. */
  readonly idleLink: QueueLink<TrackedSession>;
  readonly idleOrderLink: QueueLink<TrackedSession>;
}


export interface ResourceCounts {
  readonly activeSessions: number;
  readonly timers: number;
  readonly listeners: number;
}

export class Checker {
  readonly #settings: RetentionSettings;
  readonly #store: PendingStore;
  readonly #description: TargetDescription;
  readonly #invariantsOff: ReadonlySet<string>;
  readonly #listenersPerSession: number;
  readonly #sessions = new Map<number, TrackedSession>();
  /**
   * Idle sessions, longest idle first (a session is moved to the back whenever it becomes idle).
   * Linked lists, not insertion-ordered Maps: a session moved to the back leaves a hole in a Map
   * that reading its head steps over, O(sessions) per event at 10,000 developers (see src/linked-queue.ts).
   */
  readonly #idle = new LinkedQueue<TrackedSession>();
  /** The same order for eviction-order: unlike #idle, a session reported overdue stays in it. */
  readonly #idleOrder = new LinkedQueue<TrackedSession>();
  /** Generators, shutdown and counters: sim/check/rule-invariants.ts. */
  readonly #rules: RuleInvariants;
  /** The executable model, for matches-model: sim/check/model.ts. Judges only targets that declare followsModel. */
  readonly #model: RetentionModel;
  readonly #touched = new Set<number>();
  /** Live runs by session id, tracked or not (see LiveRuns). */
  readonly #runs = new Map<number, LiveRuns>();
  readonly #violations: Violation[] = [];
  readonly #violationCounts = new Map<InvariantName, number>();
  #enqueued = 0;
  #acknowledged = 0;
  #target: SessionTarget | undefined;
  /** Async routes the driver is still waiting for: the message accounting waits for their answers. */
  routesUnanswered = 0;

  /** `settings` are the ones to judge with: the scenario's, overridden by what the target fixes (`fixedSettings`). */
  constructor(settings: RetentionSettings, store: PendingStore, description: TargetDescription = {}) {
    this.#settings = settings;
    this.#store = store;
    this.#description = description;
    const off = new Set(Object.keys(description.invariantsOff ?? {}));
    this.#invariantsOff = off;
    this.#listenersPerSession = description.listenersPerSession ?? 1;
    this.#model = new RetentionModel(settings, description);
    this.#rules = new RuleInvariants(settings, store, {
      fail: (invariant, atMs, detail, sessionDbId) => this.#fail(invariant, atMs, detail, sessionDbId),
      inMemory: (sessionDbId) => this.#sessions.has(sessionDbId),
      isOff: (invariant) => off.has(invariant),
    });
  }

  get violations(): readonly Violation[] {
    return this.#violations;
  }

  get failed(): boolean {
    return this.#violationCounts.size > 0;
  }

  violationCounts(): ReadonlyMap<InvariantName, number> {
    return this.#violationCounts;
  }

  /** A new worker incarnation: memory is gone, so is every in-memory session. */
  attach(target: SessionTarget): void {
    this.#target = target;
    this.#sessions.clear();
    this.#idle.clear();
    this.#idleOrder.clear();
    this.#touched.clear();
    this.#runs.clear(); // the old worker's generators died with it
    this.#rules.workerRestarted();
    this.#model.workerStarted();
  }

  /** Whether the target announced this session (created since it started, and not removed). */
  knows(sessionDbId: number): boolean {
    return this.#sessions.has(sessionDbId);
  }

  /** The target created a session in memory, pinned to `pinned`; `recovered`: resumed by a starting worker, not by a route. */
  created(sessionDbId: number, pinned: string, nowMs: number, recovered = false): void {
    this.#model.created(sessionDbId, pinned, nowMs, recovered);
    const existing = this.#sessions.get(sessionDbId);
    if (existing) this.#fail('removals-reported', nowMs, `session ${sessionDbId} was created again without its removal being reported`, sessionDbId);
    const live = this.#liveRuns(sessionDbId);
    // A session created again takes over the old one's places in the idle queues, as a Map keyed
    // by session id would keep them, until it is next examined.
    this.#sessions.set(sessionDbId, trackedSession(sessionDbId, pinned, nowMs, live, existing?.everRan ?? live.runs > 0, existing));
    // Generators started inside the route that created the session were counted before it was known.
    if (live.runs > 1) this.#fail('one-generator-per-session', nowMs, `${live.runs} generators running for session ${sessionDbId}`, sessionDbId);
    this.#touched.add(sessionDbId);
  }

  /** A hook for this session is about to reach the target: new work may start its generator at once. */
  hookFor(sessionDbId: number | undefined): void {
    this.#rules.hookFor(sessionDbId);
    if (sessionDbId !== undefined) this.#model.hookFor(sessionDbId);
  }

  /** The target refused a session (SessionLimitError). */
  refused(): void {
    this.#model.refused();
    this.#rules.refused();
  }

  claimed(message: PendingMessage, nowMs: number): void {
    this.#rules.claimed(message, nowMs);
    this.#model.claimed(message.sessionDbId, message.id, nowMs);
  }

  touch(sessionDbId: number): void {
    this.#touched.add(sessionDbId);
  }

  /** The session's generator showed activity (the agent claimed, replied or acknowledged). */
  generatorActivity(sessionDbId: number, nowMs: number): void {
    this.#touched.add(sessionDbId);
    this.#model.generatorActivity(sessionDbId, nowMs);
  }

  enqueued(message: PendingMessage): void {
    this.#enqueued += 1;
    this.#model.enqueued(message.sessionDbId, message.id);
  }

  acknowledged(message: PendingMessage): void {
    this.#acknowledged += 1;
    this.#model.acknowledged(message.sessionDbId, message.id);
    this.#rules.acknowledged(message);
  }

  runStarted(sessionDbId: number, nowMs: number, waits = false): void {
    this.#rules.runStarted(sessionDbId, nowMs);
    this.#model.runStarted(sessionDbId, nowMs, waits);
    const live = this.#liveRuns(sessionDbId);
    live.runs += 1;
    if (waits) live.waitingRuns += 1;
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    session.everRan = true;
    if (live.runs > 1) this.#fail('one-generator-per-session', nowMs, `${live.runs} generators running for session ${sessionDbId}`, sessionDbId);
    this.#touched.add(sessionDbId);
  }

  runEnded(sessionDbId: number, waits: boolean, end: RunEnd, nowMs: number): void {
    this.#rules.runEnded(sessionDbId, end, nowMs);
    this.#model.runEnded(sessionDbId, end, nowMs);
    const live = this.#runs.get(sessionDbId);
    if (!live) return; // a run of a worker that has restarted since
    live.runs -= 1;
    if (waits) live.waitingRuns -= 1;
    this.#release(sessionDbId, live);
  }

  /** A generator's abort signal fired; its last activity was at `lastActivityMs`. */
  aborted(sessionDbId: number, lastActivityMs: number, nowMs: number): void {
    this.#rules.aborted(sessionDbId, lastActivityMs, nowMs);
    this.#model.aborted(sessionDbId, lastActivityMs, nowMs);
  }

  /** An aborted run lingers on (or has settled at last): see RuleInvariants.lingering. */
  lingering(sessionDbId: number, started: boolean, nowMs: number): void {
    this.#rules.lingering(sessionDbId, started);
    this.#model.lingering(sessionDbId, started, nowMs);
  }

  /** A prompt reached a session already in memory: the target appends it to the history. */
  prompted(sessionDbId: number, text: string): void {
    this.#model.prompted(sessionDbId, text);
  }

  /** The agent appended a message through a live generator context. */
  appended(sessionDbId: number, message: ConversationMessage): void {
    this.#model.appended(sessionDbId, message);
  }

  /** The driver is calling the delete (or complete) route for this session. */
  deleting(sessionDbId: number): void {
    this.#model.deleting(sessionDbId);
  }

  /** The driver called shutdown(). */
  shutdownBegan(): void {
    this.#model.shutdownBegan();
    this.#rules.shutdownBegan();
  }

  /** shutdown() resolved. */
  shutdownResolved(nowMs: number): void {
    this.#rules.shutdownResolved(nowMs);
    if (this.#model.judged) {
      this.#model.shutdownResolved();
      this.#flushModel(nowMs);
    }
  }

  /** shutdown() had not resolved when the driver gave up waiting (or it rejected). */
  shutdownUnfinished(nowMs: number, why: string): void {
    this.#rules.shutdownUnfinished(nowMs, why);
  }

  processingStarted(sessionDbId: number): void {
    this.#liveRuns(sessionDbId).processing += 1;
    this.#touched.add(sessionDbId);
  }

  processingEnded(sessionDbId: number): void {
    const live = this.#runs.get(sessionDbId);
    if (!live) return;
    live.processing -= 1;
    this.#release(sessionDbId, live);
  }

  #liveRuns(sessionDbId: number): LiveRuns {
    let live = this.#runs.get(sessionDbId);
    if (!live) {
      live = { runs: 0, waitingRuns: 0, processing: 0 };
      this.#runs.set(sessionDbId, live);
    }
    return live;
  }

  /** Forgets the counts of a session with nothing running that the checker does not track, so the map follows live runs. */
  #release(sessionDbId: number, live: LiveRuns): void {
    if (this.#sessions.has(sessionDbId)) this.#touched.add(sessionDbId);
    else if (live.runs <= 0 && live.processing <= 0) this.#runs.delete(sessionDbId);
  }

  /** The observer hook: the target reports a removal before it releases the session's work. */
  removed(sessionDbId: number, reason: RemovalReason, nowMs: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session) {
      this.#fail('removals-reported', nowMs, `removal of session ${sessionDbId} (${reason}) reported, but it was not in memory`, sessionDbId);
      return;
    }
    this.#rules.removed(sessionDbId, reason);
    this.#model.removed(sessionDbId, reason, nowMs);
    if (reason === 'expired' || reason === 'evicted') {
      const pending = this.#store.pendingCount(sessionDbId);
      const { runs, waitingRuns, processing } = session.live;
      const working = runs > waitingRuns;
      if (pending > 0 || working || processing > 0) {
        const why = [pending > 0 ? `${pending} pending messages` : '', working ? 'a running generator' : '', processing > 0 ? 'a generator processing a message' : ''].filter(Boolean).join(' and ');
        this.#fail('no-busy-eviction', nowMs, `session ${sessionDbId} was ${reason} while busy (${why})`, sessionDbId);
      } else if (reason === 'evicted') {
        this.#checkEvictionOrder(session, nowMs);
      } else if (reason === 'expired') {
        const idleMs = this.#idle.has(session.idleLink) ? nowMs - session.idleSinceMs : 0;
        if (idleMs < this.#settings.ttlMs) {
          this.#fail('expiry-not-early', nowMs, `session ${sessionDbId} expired after ${formatMs(idleMs)} idle, before the TTL of ${this.#ttlText()}`, sessionDbId);
        }
      }
    }
    this.#sessions.delete(sessionDbId);
    this.#idle.delete(session.idleLink);
    this.#idleOrder.delete(session.idleOrderLink);
    this.#touched.delete(sessionDbId);
    this.#release(sessionDbId, session.live);
  }

  /** The head of #idleOrder went idle first; an evicted session idle since later had an idler one beside it. */
  #checkEvictionOrder(session: TrackedSession, nowMs: number): void {
    const idlest = this.#idleOrder.first();
    if (!idlest || idlest === session) return;
    const evictedIdleSinceMs = this.#idleOrder.has(session.idleOrderLink) ? session.idleSinceMs : nowMs;
    if (idlest.idleSinceMs < evictedIdleSinceMs) {
      this.#fail(
        'eviction-order',
        nowMs,
        `session ${session.sessionDbId} was evicted after ${formatMs(nowMs - evictedIdleSinceMs)} idle, but session ${idlest.sessionDbId} had been idle longer (${formatMs(nowMs - idlest.idleSinceMs)}) and should have gone first`,
        session.sessionDbId,
      );
    }
  }

  /** After each event: re-examine the touched sessions, then the O(1) global checks. */
  afterEvent(nowMs: number): void {
    const target = this.#target!;
    for (const sessionDbId of this.#touched) this.#examine(target, sessionDbId, nowMs);
    this.#touched.clear();

    const activeSessions = target.sessionCount();
    if (activeSessions > this.#settings.maxActiveSessions) {
      this.#fail('sessions-within-cap', nowMs, `${activeSessions} sessions in memory, cap ${this.#settings.maxActiveSessions}${this.#fixedText('maxActiveSessions')}`);
    }
    // A route still unanswered (an async start recovering sessions one by one) may hold sessions not yet announced.
    if (activeSessions !== this.#sessions.size && this.routesUnanswered === 0) {
      this.#fail('removals-reported', nowMs, `target holds ${activeSessions} sessions, but ${this.#sessions.size} were created and not reported removed`);
    }
    this.#checkIdleHead(nowMs);
    this.#checkAccounting(nowMs);
    this.#rules.afterEvent();
    if (this.#model.judged) {
      this.#model.afterEvent(nowMs, activeSessions, this.routesUnanswered);
      this.#flushModel(nowMs);
    }
  }

  /** The model's divergences, each a matches-model violation. */
  #flushModel(nowMs: number): void {
    for (const divergence of this.#model.takeDivergences()) this.#fail('matches-model', nowMs, divergence.detail, divergence.sessionDbId);
  }

  /** At every metrics sample: the O(n) resource counts. */
  checkResources(counts: ResourceCounts, nowMs: number): void {
    const bound = counts.activeSessions + RESOURCE_SLACK;
    if (counts.timers > bound) this.#fail('timers-bounded', nowMs, `${counts.timers} timers held with ${counts.activeSessions} sessions (bound ${bound})`);
    const listenerBound = counts.activeSessions * this.#listenersPerSession + RESOURCE_SLACK;
    if (counts.listeners > listenerBound) {
      const per = this.#description.listenersPerSession === undefined ? '' : `, ${declarationText('listenersPerSession', this.#listenersPerSession)}`;
      this.#fail('listeners-bounded', nowMs, `${counts.listeners} listeners held with ${counts.activeSessions} sessions (bound ${listenerBound}${per})`);
    }
    // The model after the bounds, so that a failure is named by its own invariant first.
    if (this.#model.judged) {
      this.#model.checkResources(counts);
      this.#flushModel(nowMs);
    }
  }

  /**
   * At every metrics sample: abort listeners on each session's latest generator signal, against
   * the session's budget plus the running agent's own listener. O(sessions). Returns the most found.
   */
  checkRunSignals(signals: ReadonlyMap<number, AbortSignal>, nowMs: number): number {
    const bound = this.#listenersPerSession + 1;
    let most = 0;
    for (const [sessionDbId, signal] of signals) {
      const listeners = getEventListeners(signal, 'abort').length;
      most = Math.max(most, listeners);
      if (this.#model.judged) this.#model.checkRunSignal(sessionDbId, listeners);
      if (listeners > bound) {
        const budget = this.#description.listenersPerSession === undefined ? `${this.#listenersPerSession} per session` : declarationText('listenersPerSession', this.#listenersPerSession);
        this.#fail('listeners-bounded', nowMs, `session ${sessionDbId}'s generator signal holds ${listeners} abort listeners (bound ${bound}: ${budget} + the running agent's own)`, sessionDbId);
      }
    }
    if (this.#model.judged) this.#flushModel(nowMs);
    return most;
  }

  /** A misbehaving agent's kept context of an ended run was handed a message: that generator still runs. */
  staleClaim(sessionDbId: number, nowMs: number): void {
    this.#fail('one-generator-per-session', nowMs, `session ${sessionDbId} handed a message to the context of a generator run that had ended (the agent kept it)`, sessionDbId);
  }

  /** At every metrics sample: stats() against ground truth (stats-agree, in sim/check/rule-invariants.ts). O(sessions). */
  checkStats(stats: TargetStats, nowMs: number): void {
    this.#checkStatsAgree(stats, nowMs);
    // The model after stats-agree, so that a failure is named by its own invariant first.
    if (this.#model.judged) {
      this.#model.checkCounters(stats);
      this.#flushModel(nowMs);
    }
  }

  #checkStatsAgree(stats: TargetStats, nowMs: number): void {
    if (this.#invariantsOff.has('stats-agree')) return;
    const target = this.#target!;
    let historyMessages = 0;
    let historyChars = 0;
    for (const sessionDbId of this.#sessions.keys()) {
      const view = target.session(sessionDbId);
      if (!view) continue; // removals-reported names it
      historyMessages += view.historyMessages;
      historyChars += view.historyChars;
    }
    this.#rules.checkStats(stats, { activeSessions: this.#sessions.size, historyMessages, historyChars }, nowMs);
  }

  /** Liveness, once traffic has stopped and the quiet period has passed. */
  checkQuiet(counts: ResourceCounts, nowMs: number): void {
    const { queued, inFlight } = this.#store.accounting();
    const left = [
      counts.activeSessions ? `${counts.activeSessions} sessions` : '',
      counts.timers ? `${counts.timers} timers` : '',
      counts.listeners ? `${counts.listeners} listeners` : '',
      queued + inFlight ? `${queued + inFlight} pending messages` : '',
    ].filter(Boolean);
    if (left.length) this.#fail('drains-when-quiet', nowMs, `after traffic stopped and the TTL passed, still held: ${left.join(', ')}`);
  }

  checkShutdown(counts: ResourceCounts, nowMs: number): void {
    const left = [
      counts.activeSessions ? `${counts.activeSessions} sessions` : '',
      counts.timers ? `${counts.timers} timers` : '',
      counts.listeners ? `${counts.listeners} listeners` : '',
    ].filter(Boolean);
    if (left.length) this.#fail('clean-shutdown', nowMs, `after shutdown, still held: ${left.join(', ')}`);
  }

  #examine(target: SessionTarget, sessionDbId: number, nowMs: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    const view = target.session(sessionDbId);
    if (!view) return; // removed without a report: afterEvent's count comparison names it
    const { maxHistoryMessages, maxHistoryTokens } = this.#settings;
    if (view.historyMessages > maxHistoryMessages || view.historyTokens > maxHistoryTokens) {
      this.#fail(
        'history-within-bound',
        nowMs,
        `session ${sessionDbId} holds ${view.historyMessages} messages / ${view.historyTokens} tokens (bounds ${maxHistoryMessages} / ${maxHistoryTokens}${this.#fixedText('maxHistoryMessages')}${this.#fixedText('maxHistoryTokens')})`,
        sessionDbId,
      );
    }
    const first = view.firstMessage;
    const waitsForGenerator = !first && !session.everRan && this.#description.historyEmptyUntilGenerator === true;
    if (!waitsForGenerator && (!first || first.role !== 'user' || (first.content !== session.pinned && !(first.content.length > 0 && session.pinned.startsWith(first.content))))) {
      this.#fail('init-prompt-kept', nowMs, this.#pinnedText(sessionDbId, first === undefined), sessionDbId);
    } else if (first && view.historyMessages >= 2 && view.historyMessages <= maxHistoryMessages && view.historyTokens <= maxHistoryTokens && !session.orphanReported && this.#orphanCheckDue(session)) {
      // O(history) to read, bounded by maxHistoryMessages: histories past their bound are
      // history-within-bound's, and reading them would make an unbounded target quadratic.
      const second = this.#readHistory(sessionDbId)?.[1];
      if (second?.role === 'assistant') {
        session.orphanReported = true;
        this.#fail('no-orphan-reply', nowMs, `session ${sessionDbId}'s history has a reply right after its pinned prompt: the prompt it answered was trimmed and the reply kept`, sessionDbId);
      }
    }
    // Every touch is activity (a hook for the session, or its generator's output), so an idle
    // session's idle time starts again now, even if it was never seen busy in between.
    // A generator that waits for work with nothing to do is not busy; one processing a message is.
    const live = session.live;
    const busy = live.runs > live.waitingRuns || live.processing > 0 || this.#store.pendingCount(sessionDbId) > 0;
    this.#idle.delete(session.idleLink);
    this.#idleOrder.delete(session.idleOrderLink);
    if (!busy) {
      session.idleSinceMs = nowMs;
      session.idleLink.value = session;
      session.idleOrderLink.value = session;
      this.#idle.append(session.idleLink);
      this.#idleOrder.append(session.idleOrderLink);
    }
    if (this.#model.judged) {
      this.#model.settled(sessionDbId, busy, nowMs);
      this.#model.compare(sessionDbId, view, this.#readHistory);
    }
    this.#historyRead = undefined;
  }

  /**
   * A copy of one session's history, read at most once per examination (the orphan check and the
   * model's full comparison share it): bound once, so that handing it on allocates nothing.
   */
  #historyRead: { readonly sessionDbId: number; readonly messages: readonly ConversationMessage[] | undefined } | undefined;
  readonly #readHistory = (sessionDbId: number): readonly ConversationMessage[] | undefined => {
    if (this.#historyRead?.sessionDbId !== sessionDbId) this.#historyRead = { sessionDbId, messages: this.#target!.history(sessionDbId) };
    return this.#historyRead.messages;
  };

  /**
   * The history view is a copy: reading it after every event of a busy session nearly doubled the
   * checker's own time on heavy-month (by CPU profile). A session's first
   * ORPHAN_CHECKS_EVERY_TIME chances are all taken, then one in ORPHAN_CHECK_STRIDE: a short run
   * is judged at every event, and a trim that leaves orphans leaves one at about every other
   * trim, so a long run still sees it within a few events.
   */
  #orphanCheckDue(session: TrackedSession): boolean {
    if (this.#invariantsOff.has('no-orphan-reply')) return false;
    session.orphanChances += 1;
    return session.orphanChances <= ORPHAN_CHECKS_EVERY_TIME || session.orphanChances % ORPHAN_CHECK_STRIDE === 0;
  }

  #checkIdleHead(nowMs: number): void {
    const session = this.#idle.first();
    if (!session) return;
    const idleMs = nowMs - session.idleSinceMs;
    if (idleMs > this.#settings.ttlMs + EXPIRY_GRANULARITY_MS) {
      this.#fail(
        'idle-expired-in-time',
        nowMs,
        `session ${session.sessionDbId} still in memory ${formatMs(idleMs - this.#settings.ttlMs)} after its TTL of ${this.#ttlText()} ran out`,
        session.sessionDbId,
      );
      // Report each session once: it stays idle, so it would fail every event from here on.
      this.#idle.delete(session.idleLink);
    }
  }

  #checkAccounting(nowMs: number): void {
    if (this.routesUnanswered > 0) return;
    const store = this.#store;
    if (store.enqueuedCount === this.#enqueued && store.unaccounted() === this.#reportedMissing && store.processedCount === this.#acknowledged) return;
    const account = store.accounting();
    const missing = store.unaccounted();
    const atRestart = this.#description.queue === 'memory' ? ` + ${account.lostAtRestart} lost at restart (${declarationText('queue', 'memory')})` : '';
    const parts = [
      `${this.#enqueued} queued by hooks; store: ${account.enqueued} enqueued = ${account.processed} processed + ${account.queued} queued + ${account.inFlight} in flight + ${account.droppedByDelete} dropped by delete${atRestart}`,
      missing ? `${missing} unaccounted (${account.lost} lost with a dead generator, ${account.droppedByEviction} dropped with an evicted or expired session)` : '',
      account.processed !== this.#acknowledged ? `the agent acknowledged ${this.#acknowledged}` : '',
    ].filter(Boolean);
    this.#fail('no-lost-message', nowMs, parts.join('; '));
    // Re-base, so that one loss is reported once rather than after every later event.
    this.#enqueued = account.enqueued;
    this.#acknowledged = account.processed;
    this.#reportedMissing = missing;
  }

  #reportedMissing = 0;

  /** "60.0 min", or "3.0 min (declared fixedSettings.ttlMs)" when the target fixes its own TTL. */
  #ttlText(): string {
    return `${formatMs(this.#settings.ttlMs)}${this.#fixedText('ttlMs')}`;
  }

  /** " (declared fixedSettings.ttlMs)" when the target fixes that setting itself, else nothing. */
  #fixedText(field: keyof RetentionSettings): string {
    return this.#description.fixedSettings?.[field] !== undefined ? ` (declared fixedSettings.${field})` : '';
  }

  #pinnedText(sessionDbId: number, empty: boolean): string {
    const pinned = this.#description.pinnedPrompt;
    const which = pinned === 'first' ? `its first prompt (${declarationText('pinnedPrompt', pinned)})` : pinned === 'latest' ? `its init prompt (${declarationText('pinnedPrompt', pinned)})` : 'its init prompt';
    if (empty && this.#description.historyEmptyUntilGenerator) return `session ${sessionDbId} has an empty history after its generator ran (${declarationText('historyEmptyUntilGenerator', true)}), so it no longer starts with ${which}`;
    return `session ${sessionDbId} no longer starts with ${which}`;
  }

  #fail(invariant: InvariantName, atMs: number, detail: string, sessionDbId?: number): void {
    // A switched-off invariant is never recorded; the report lists it with the target's reason.
    if (this.#invariantsOff.size > 0 && this.#invariantsOff.has(invariant)) return;
    const count = (this.#violationCounts.get(invariant) ?? 0) + 1;
    this.#violationCounts.set(invariant, count);
    if (count <= VIOLATIONS_KEPT_PER_INVARIANT) this.#violations.push(sessionDbId === undefined ? { invariant, atMs, detail } : { invariant, atMs, sessionDbId, detail });
  }
}

/** "declared pinnedPrompt: 'first'": how a message names the declaration it depends on. */
export function declarationText(field: keyof TargetDescription, value: unknown): string {
  return `declared ${field}: ${typeof value === 'string' ? `'${value}'` : JSON.stringify(value)}`;
}

function trackedSession(sessionDbId: number, pinned: string, idleSinceMs: number, live: LiveRuns, everRan: boolean, replaced: TrackedSession | undefined): TrackedSession {
  const session = { sessionDbId, pinned, idleSinceMs, live, everRan, orphanReported: false, orphanChances: 0 } as TrackedSession & { idleLink: QueueLink<TrackedSession>; idleOrderLink: QueueLink<TrackedSession> };
  session.idleLink = replaced?.idleLink ?? new QueueLink<TrackedSession>(session);
  session.idleOrderLink = replaced?.idleOrderLink ?? new QueueLink<TrackedSession>(session);
  return session;
}
