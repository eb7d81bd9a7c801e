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
 */
import type { RemovalReason, SessionTarget, TargetStats } from '../src/contract.ts';
import type { PendingMessage, PendingStore } from '../src/pending-store.ts';
import type { RetentionSettings } from '../src/settings.ts';
import type { RunEnd } from './agent.ts';
import { ClaimOrder } from './claim-order.ts';

export const INVARIANTS = {
  'sessions-within-cap': 'never more than maxActiveSessions sessions in memory',
  'history-within-bound': 'every history holds at most maxHistoryMessages messages and maxHistoryTokens tokens',
  'init-prompt-kept': "a session's first history message is always the prompt it was created with",
  'no-busy-eviction': 'a session with a running generator or pending messages is never evicted or expired',
  'expiry-not-early': 'an idle session is never expired before it has been idle for the TTL',
  'idle-expired-in-time': 'an idle session is gone within the TTL plus the expiry granularity',
  'no-lost-message': 'every queued message is processed, still pending, or dropped by an explicit delete',
  'one-generator-per-session': 'at most one generator runs for a session at any moment',
  'timers-bounded': 'timers held are at most the active sessions plus a small constant',
  'listeners-bounded': 'listeners held are at most the active sessions plus a small constant',
  'removals-reported': "the target's session count matches the sessions created minus the removals it reported",
  'drains-when-quiet': 'once traffic stops and the TTL passes: no session, timer, listener or pending message is left',
  'clean-shutdown': 'after shutdown: no session, timer or listener is left',
  // The reference's rules that can be seen from outside (appended, so older names keep their trace codes).
  'eviction-order': 'an evicted session is the least recently active idle one',
  'requeued-first': 'a message handed back by a generator that ended without finishing it reaches the agent before any younger message of its session',
  'restart-after-delay': 'a generator that crashed or was aborted is not restarted before generatorRestartDelayMs, unless new work for its session arrived',
  'watchdog-not-early': 'the target never aborts the generator of a session it keeps unless the generator has been silent for generatorIdleTimeoutMs',
  'no-orphan-reply': 'after the pinned prompt, a history never starts with a reply (a reply whose prompt was trimmed)',
  'stats-agree': 'the counters in stats() agree with what the driver saw: sessions, live generators, history totals, refusals, evictions, expirations',
  'shutdown-waits': 'shutdown resolves only once every generator has ended, and leaves no message in flight',
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export const INVARIANT_NAMES = Object.keys(INVARIANTS) as InvariantName[];

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

interface TrackedSession {
  readonly sessionDbId: number;
  readonly pinned: string;
  idleSinceMs: number;
  runs: number;
  /** Reported an orphan reply: once per session is enough. */
  orphanReported: boolean;
  /** Examines at which this session's history could have been read for an orphan reply. */
  orphanChances: number;
}

/** What the driver saw in one worker incarnation, to hold stats() against (its counters restart with the worker). */
interface Seen {
  refused: number;
  evictions: number;
  expirations: number;
}

export interface ResourceCounts {
  readonly activeSessions: number;
  readonly timers: number;
  readonly listeners: number;
}

export class Checker {
  readonly #settings: RetentionSettings;
  readonly #store: PendingStore;
  readonly #off: ReadonlySet<InvariantName>;
  readonly #sessions = new Map<number, TrackedSession>();
  /** Idle sessions, longest idle first (a session is moved to the back whenever it becomes idle). */
  readonly #idle = new Map<number, TrackedSession>();
  /** The same order for eviction-order: unlike #idle, a session reported overdue stays in it. */
  readonly #idleOrder = new Map<number, TrackedSession>();
  readonly #claimOrder: ClaimOrder;
  /** Live generator runs per session, whatever the target thinks (dead ones leave with the worker). */
  readonly #liveRuns = new Map<number, number>();
  #liveRunCount = 0;
  /** When a session's generator last crashed or was aborted, until its restart or new work for it. */
  readonly #stoppedAtMs = new Map<number, number>();
  #seen: Seen = { refused: 0, evictions: 0, expirations: 0 };
  #shuttingDown = false;
  readonly #touched = new Set<number>();
  readonly #violations: Violation[] = [];
  readonly #violationCounts = new Map<InvariantName, number>();
  #enqueued = 0;
  #acknowledged = 0;
  #target: SessionTarget | undefined;

  /** `off`: invariants a target's declaration switches off; they are never judged nor reported. */
  constructor(settings: RetentionSettings, store: PendingStore, off: ReadonlySet<InvariantName> = new Set()) {
    this.#settings = settings;
    this.#store = store;
    this.#off = off;
    this.#claimOrder = new ClaimOrder(store, (atMs, detail, sessionDbId) => this.#fail('requeued-first', atMs, detail, sessionDbId));
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
    // The old worker's generators died with it: what they held goes back to the queue.
    this.#claimOrder.workerRestarted();
    this.#liveRuns.clear();
    this.#liveRunCount = 0;
    this.#stoppedAtMs.clear();
    this.#seen = { refused: 0, evictions: 0, expirations: 0 };
  }

  /** The target created a session in memory, pinned to `pinned`. */
  created(sessionDbId: number, pinned: string, nowMs: number): void {
    const existing = this.#sessions.get(sessionDbId);
    if (existing) this.#fail('removals-reported', nowMs, `session ${sessionDbId} was created again without its removal being reported`, sessionDbId);
    this.#sessions.set(sessionDbId, { sessionDbId, pinned, idleSinceMs: nowMs, runs: existing?.runs ?? 0, orphanReported: false, orphanChances: 0 });
    this.#touched.add(sessionDbId);
  }

  /** A hook for this session is about to reach the target: new work may start its generator at once. */
  hookFor(sessionDbId: number | undefined): void {
    if (sessionDbId !== undefined) this.#stoppedAtMs.delete(sessionDbId);
  }

  /** The target refused a session (SessionLimitError). */
  refused(): void {
    this.#seen.refused += 1;
  }

  claimed(message: PendingMessage, nowMs: number): void {
    if (!this.#off.has('requeued-first')) this.#claimOrder.claimed(message, nowMs);
  }

  touch(sessionDbId: number): void {
    this.#touched.add(sessionDbId);
  }

  enqueued(): void {
    this.#enqueued += 1;
  }

  acknowledged(message: PendingMessage): void {
    this.#acknowledged += 1;
    this.#claimOrder.acknowledged(message);
  }

  runStarted(sessionDbId: number, nowMs: number): void {
    this.#liveRuns.set(sessionDbId, (this.#liveRuns.get(sessionDbId) ?? 0) + 1);
    this.#liveRunCount += 1;
    const stoppedAtMs = this.#stoppedAtMs.get(sessionDbId);
    if (stoppedAtMs !== undefined) {
      this.#stoppedAtMs.delete(sessionDbId);
      const delayMs = this.#settings.generatorRestartDelayMs;
      if (nowMs - stoppedAtMs < delayMs) {
        this.#fail('restart-after-delay', nowMs, `session ${sessionDbId}'s generator was restarted ${formatMs(nowMs - stoppedAtMs)} after it stopped, before the restart delay of ${formatMs(delayMs)}, with no new work for it`, sessionDbId);
      }
    }
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    session.runs += 1;
    if (session.runs > 1) this.#fail('one-generator-per-session', nowMs, `${session.runs} generators running for session ${sessionDbId}`, sessionDbId);
    this.#touched.add(sessionDbId);
  }

  runEnded(sessionDbId: number, end: RunEnd, nowMs: number): void {
    const live = this.#liveRuns.get(sessionDbId);
    if (live !== undefined) {
      this.#liveRunCount -= 1;
      if (live > 1) this.#liveRuns.set(sessionDbId, live - 1);
      else this.#liveRuns.delete(sessionDbId);
    }
    // With two generators on one session (a bug of its own), what the ended one held cannot be
    // told from the other's: hand back only once the last one ends.
    if (!this.#liveRuns.has(sessionDbId)) this.#claimOrder.runEnded(sessionDbId);
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    if (end === 'finished') this.#stoppedAtMs.delete(sessionDbId);
    else this.#stoppedAtMs.set(sessionDbId, nowMs);
    session.runs -= 1;
    this.#touched.add(sessionDbId);
  }

  /**
   * A generator's abort signal fired. A session still in memory, outside shutdown, was not
   * deleted, evicted or expired (those are reported first), so the target aborted it as hung.
   */
  aborted(sessionDbId: number, lastActivityMs: number, nowMs: number): void {
    if (this.#shuttingDown || !this.#sessions.has(sessionDbId)) return;
    const silentMs = nowMs - lastActivityMs;
    const timeoutMs = this.#settings.generatorIdleTimeoutMs;
    if (silentMs < timeoutMs) {
      this.#fail('watchdog-not-early', nowMs, `session ${sessionDbId}'s generator was aborted ${formatMs(silentMs)} after its last activity, within the idle timeout of ${formatMs(timeoutMs)}, while the session stayed in memory`, sessionDbId);
    }
  }

  /** The driver called shutdown(): aborts from here on are the shutdown's. */
  shutdownBegan(): void {
    this.#shuttingDown = true;
  }

  /** shutdown() resolved: every generator must have ended, and nothing may be left in flight. */
  shutdownResolved(nowMs: number): void {
    if (this.#liveRunCount > 0) {
      const sessions = [...this.#liveRuns.keys()].sort((a, b) => a - b);
      const shown = sessions.slice(0, 5).join(', ') + (sessions.length > 5 ? ', …' : '');
      this.#fail('shutdown-waits', nowMs, `shutdown resolved while ${this.#liveRunCount} generators were still running (sessions ${shown})`);
    }
    const { inFlight } = this.#store.accounting();
    // With generators still running, what they hold is in flight by right; that is the fault above.
    if (inFlight > 0 && this.#liveRunCount === 0) this.#fail('shutdown-waits', nowMs, `after shutdown, ${inFlight} messages are left in flight: claimed, neither acknowledged nor returned to the queue`);
  }

  /** shutdown() had not resolved when the driver gave up waiting (or it rejected). */
  shutdownUnfinished(nowMs: number, why: string): void {
    this.#fail('shutdown-waits', nowMs, why);
  }

  /** The observer hook: the target reports a removal before it releases the session's work. */
  removed(sessionDbId: number, reason: RemovalReason, nowMs: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session) {
      this.#fail('removals-reported', nowMs, `removal of session ${sessionDbId} (${reason}) reported, but it was not in memory`, sessionDbId);
      return;
    }
    if (reason === 'evicted') this.#seen.evictions += 1;
    if (reason === 'expired') this.#seen.expirations += 1;
    if (reason !== 'shutdown') this.#claimOrder.dropped(sessionDbId);
    this.#stoppedAtMs.delete(sessionDbId);
    if (reason === 'expired' || reason === 'evicted') {
      const pending = this.#store.pendingCount(sessionDbId);
      if (pending > 0 || session.runs > 0) {
        const why = [pending > 0 ? `${pending} pending messages` : '', session.runs > 0 ? 'a running generator' : ''].filter(Boolean).join(' and ');
        this.#fail('no-busy-eviction', nowMs, `session ${sessionDbId} was ${reason} while busy (${why})`, sessionDbId);
      } else if (reason === 'evicted') {
        this.#checkEvictionOrder(session, nowMs);
      } else if (reason === 'expired') {
        const idleMs = this.#idle.has(sessionDbId) ? nowMs - session.idleSinceMs : 0;
        if (idleMs < this.#settings.ttlMs) {
          this.#fail('expiry-not-early', nowMs, `session ${sessionDbId} expired after ${formatMs(idleMs)} idle, before the TTL of ${formatMs(this.#settings.ttlMs)}`, sessionDbId);
        }
      }
    }
    this.#sessions.delete(sessionDbId);
    this.#idle.delete(sessionDbId);
    this.#idleOrder.delete(sessionDbId);
    this.#touched.delete(sessionDbId);
  }

  /** The head of #idleOrder went idle first; an evicted session idle since later had an idler one beside it. */
  #checkEvictionOrder(session: TrackedSession, nowMs: number): void {
    const idlest = firstValue(this.#idleOrder);
    if (!idlest || idlest === session) return;
    const evictedIdleSinceMs = this.#idleOrder.has(session.sessionDbId) ? session.idleSinceMs : nowMs;
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
      this.#fail('sessions-within-cap', nowMs, `${activeSessions} sessions in memory, cap ${this.#settings.maxActiveSessions}`);
    }
    if (activeSessions !== this.#sessions.size) {
      this.#fail('removals-reported', nowMs, `target holds ${activeSessions} sessions, but ${this.#sessions.size} were created and not reported removed`);
    }
    this.#checkIdleHead(nowMs);
    this.#checkAccounting(nowMs);
  }

  /** At every metrics sample: the O(n) resource counts. */
  checkResources(counts: ResourceCounts, nowMs: number): void {
    const bound = counts.activeSessions + RESOURCE_SLACK;
    if (counts.timers > bound) this.#fail('timers-bounded', nowMs, `${counts.timers} timers held with ${counts.activeSessions} sessions (bound ${bound})`);
    if (counts.listeners > bound) this.#fail('listeners-bounded', nowMs, `${counts.listeners} listeners held with ${counts.activeSessions} sessions (bound ${bound})`);
  }

  /**
   * At every metrics sample: each counter the target reports against its ground truth. Sessions
   * from the removals reported, live generators from the agent, history totals from the views
   * (O(sessions), hence at samples only), refusals from the routes' answers, evictions and
   * expirations from the observer. Trimmed messages have no ground truth outside the target (it
   * decides which appends it accepts) and are not judged.
   */
  checkStats(stats: TargetStats, nowMs: number): void {
    if (this.#off.has('stats-agree')) return;
    const target = this.#target!;
    let historyMessages = 0;
    let historyChars = 0;
    for (const sessionDbId of this.#sessions.keys()) {
      const view = target.session(sessionDbId);
      if (!view) continue; // removals-reported names it
      historyMessages += view.historyMessages;
      historyChars += view.historyChars;
    }
    const truth: [keyof TargetStats, number, string][] = [
      ['activeSessions', this.#sessions.size, 'sessions created and not reported removed'],
      ['generatorsRunning', this.#liveRunCount, 'generators the agent is running'],
      ['historyMessages', historyMessages, "messages in the sessions' history views"],
      ['historyChars', historyChars, "characters in the sessions' history views"],
      ['refusedSessions', this.#seen.refused, 'sessions refused by the routes since the worker started'],
      ['evictions', this.#seen.evictions, 'evictions reported to the observer since the worker started'],
      ['expirations', this.#seen.expirations, 'expirations reported to the observer since the worker started'],
    ];
    const wrong = truth.filter(([counter, value]) => stats[counter] !== value).map(([counter, value, what]) => `${counter} ${stats[counter]}, but ${value} ${what}`);
    if (wrong.length) this.#fail('stats-agree', nowMs, `stats() says ${wrong.join('; ')}`);
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
        `session ${sessionDbId} holds ${view.historyMessages} messages / ${view.historyTokens} tokens (bounds ${maxHistoryMessages} / ${maxHistoryTokens})`,
        sessionDbId,
      );
    }
    const first = view.firstMessage;
    if (!first || first.role !== 'user' || (first.content !== session.pinned && !(first.content.length > 0 && session.pinned.startsWith(first.content)))) {
      this.#fail('init-prompt-kept', nowMs, `session ${sessionDbId} no longer starts with its init prompt`, sessionDbId);
    } else if (view.historyMessages >= 2 && view.historyMessages <= maxHistoryMessages && view.historyTokens <= maxHistoryTokens && !session.orphanReported && this.#orphanCheckDue(session)) {
      // O(history) to read, bounded by maxHistoryMessages: histories past their bound are
      // history-within-bound's, and reading them would make an unbounded target quadratic.
      const second = target.history(sessionDbId)?.[1];
      if (second?.role === 'assistant') {
        session.orphanReported = true;
        this.#fail('no-orphan-reply', nowMs, `session ${sessionDbId}'s history has a reply right after its pinned prompt: the prompt it answered was trimmed and the reply kept`, sessionDbId);
      }
    }
    // Every touch is activity (a hook for the session, or its generator's output), so an idle
    // session's idle time starts again now, even if it was never seen busy in between.
    const busy = session.runs > 0 || this.#store.pendingCount(sessionDbId) > 0;
    this.#idle.delete(sessionDbId);
    this.#idleOrder.delete(sessionDbId);
    if (!busy) {
      session.idleSinceMs = nowMs;
      this.#idle.set(sessionDbId, session);
      this.#idleOrder.set(sessionDbId, session);
    }
  }

  /**
   * The history view is a copy: reading it after every event of a busy session cost more than the
   * rest of the checker together (heavy-month: +45 % run time). A session's first
   * ORPHAN_CHECKS_EVERY_TIME chances are all taken, then one in ORPHAN_CHECK_STRIDE: a short run
   * is judged at every event, and a trim that leaves orphans leaves one at about every other
   * trim, so a long run still sees it within a few events.
   */
  #orphanCheckDue(session: TrackedSession): boolean {
    if (this.#off.has('no-orphan-reply')) return false;
    session.orphanChances += 1;
    return session.orphanChances <= ORPHAN_CHECKS_EVERY_TIME || session.orphanChances % ORPHAN_CHECK_STRIDE === 0;
  }

  #checkIdleHead(nowMs: number): void {
    for (const session of this.#idle.values()) {
      const idleMs = nowMs - session.idleSinceMs;
      if (idleMs > this.#settings.ttlMs + EXPIRY_GRANULARITY_MS) {
        this.#fail(
          'idle-expired-in-time',
          nowMs,
          `session ${session.sessionDbId} still in memory ${formatMs(idleMs - this.#settings.ttlMs)} after its TTL of ${formatMs(this.#settings.ttlMs)} ran out`,
          session.sessionDbId,
        );
        // Report each session once: it stays idle, so it would fail every event from here on.
        this.#idle.delete(session.sessionDbId);
      }
      return;
    }
  }

  #checkAccounting(nowMs: number): void {
    const store = this.#store;
    if (store.enqueuedCount === this.#enqueued && store.unaccounted() === this.#reportedMissing && store.processedCount === this.#acknowledged) return;
    const account = store.accounting();
    const missing = store.unaccounted();
    const parts = [
      `${this.#enqueued} queued by hooks; store: ${account.enqueued} enqueued = ${account.processed} processed + ${account.queued} queued + ${account.inFlight} in flight + ${account.droppedByDelete} dropped by delete`,
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

  #fail(invariant: InvariantName, atMs: number, detail: string, sessionDbId?: number): void {
    if (this.#off.has(invariant)) return;
    const count = (this.#violationCounts.get(invariant) ?? 0) + 1;
    this.#violationCounts.set(invariant, count);
    if (count <= VIOLATIONS_KEPT_PER_INVARIANT) this.#violations.push(sessionDbId === undefined ? { invariant, atMs, detail } : { invariant, atMs, sessionDbId, detail });
  }
}

function firstValue<V>(map: Map<number, V>): V | undefined {
  for (const value of map.values()) return value;
  return undefined;
}

export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} days`;
}
