/**
 * The reference's rules about generators, shutdown and counters, judged from outside the target
 * for the checker (sim/check/invariants.ts): restart-after-delay, watchdog-not-early, requeued-first
 * (with sim/check/claim-order.ts), shutdown-waits and stats-agree. The two rules that need the checker's
 * view of sessions (eviction-order: who went idle first; no-orphan-reply: the history views) stay
 * in the checker.
 *
 * Ground truth only: how each generator run started, ended and was aborted, and what it claimed
 * and acknowledged, as the simulated agent tells it; the hooks and refusals the driver saw; the
 * removals the observer heard; the persisted store. State follows live work (runs, recent stops,
 * claims in flight), never the number of sessions ever seen.
 */
import type { RemovalReason, TargetStats } from '../../src/contract.ts';
import type { PendingMessage, PendingStore } from '../../src/pending-store.ts';
import type { RetentionSettings } from '../../src/settings.ts';
import type { RunEnd } from '../engine/agent.ts';
import { ClaimOrder } from './claim-order.ts';
import { formatMs } from '../engine/sim-time.ts';
import { type InvariantName } from './catalogue.ts';

/** What the rules need from the checker. */
export interface RuleHost {
  fail(invariant: InvariantName, atMs: number, detail: string, sessionDbId?: number): void;
  /** Whether the session is in memory: created and not reported removed. */
  inMemory(sessionDbId: number): boolean;
  isOff(invariant: InvariantName): boolean;
}

/** What the driver saw in one worker incarnation, to hold stats() against (its counters restart with the worker). */
interface Seen {
  refused: number;
  evictions: number;
  expirations: number;
}

/** The ground truth stats() is compared with that only the checker knows: the sessions and their views. */
export interface SessionTotals {
  readonly activeSessions: number;
  readonly historyMessages: number;
  readonly historyChars: number;
}

export class RuleInvariants {
  readonly #settings: RetentionSettings;
  readonly #store: PendingStore;
  readonly #host: RuleHost;
  readonly #claimOrder: ClaimOrder;
  /** Live generator runs per session, whatever the target thinks (dead ones leave with the worker). */
  readonly #liveRuns = new Map<number, number>();
  #liveRunCount = 0;
  /** Aborted runs that count as ended but whose promise has not settled (an agent that runs on after its abort). */
  #lingeringCount = 0;
  /** When a session's generator last crashed or was aborted, until its restart or new work for it. */
  readonly #stoppedAtMs = new Map<number, number>();
  #seen: Seen = { refused: 0, evictions: 0, expirations: 0 };
  #shuttingDown = false;
  /** Aborted runs still lingering, per session (see `lingering`). */
  readonly #lingeringRuns = new Map<number, number>();
  /**
   * Aborts within the idle timeout of a session still in memory, judged once the session's runs
   * have all ended and the target has settled: a target may abort first and report the removal
   * once its generator has exited (claude-mem: an idle timeout or a delete aborts, awaits the
   * generator, then removes the session). Still in memory then, the session was kept.
   */
  readonly #earlyAborts = new Map<number, { atMs: number; detail: string }>();

  constructor(settings: RetentionSettings, store: PendingStore, host: RuleHost) {
    this.#settings = settings;
    this.#store = store;
    this.#host = host;
    this.#claimOrder = new ClaimOrder(store, (atMs, detail, sessionDbId) => host.fail('requeued-first', atMs, detail, sessionDbId));
  }

  /** A new worker incarnation: its generators died with the old one, whose counters start again. */
  workerRestarted(): void {
    this.#claimOrder.workerRestarted(); // what the dead generators held goes back to the queue
    this.#liveRuns.clear();
    this.#liveRunCount = 0;
    this.#lingeringCount = 0;
    this.#stoppedAtMs.clear();
    this.#seen = { refused: 0, evictions: 0, expirations: 0 };
    this.#lingeringRuns.clear();
    this.#earlyAborts.clear(); // the sessions left memory with the worker
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
    if (!this.#host.isOff('requeued-first')) this.#claimOrder.claimed(message, nowMs);
  }

  acknowledged(message: PendingMessage): void {
    this.#claimOrder.acknowledged(message);
  }

  runStarted(sessionDbId: number, nowMs: number): void {
    this.#liveRuns.set(sessionDbId, (this.#liveRuns.get(sessionDbId) ?? 0) + 1);
    this.#liveRunCount += 1;
    const stoppedAtMs = this.#stoppedAtMs.get(sessionDbId);
    if (stoppedAtMs === undefined) return;
    this.#stoppedAtMs.delete(sessionDbId);
    const delayMs = this.#settings.generatorRestartDelayMs;
    if (nowMs - stoppedAtMs < delayMs) {
      this.#host.fail(
        'restart-after-delay',
        nowMs,
        `session ${sessionDbId}'s generator was restarted ${formatMs(nowMs - stoppedAtMs)} after it stopped, before the restart delay of ${formatMs(delayMs)}, with no new work for it`,
        sessionDbId,
      );
    }
  }

  /**
   * An aborted run that runs on has ended for every rule, but a target may count it in
   * `generatorsRunning` until its promise settles: stats-agree accepts either.
   */
  lingering(sessionDbId: number, started: boolean): void {
    this.#lingeringCount = Math.max(0, this.#lingeringCount + (started ? 1 : -1));
    const runs = (this.#lingeringRuns.get(sessionDbId) ?? 0) + (started ? 1 : -1);
    if (runs > 0) this.#lingeringRuns.set(sessionDbId, runs);
    else this.#lingeringRuns.delete(sessionDbId);
  }

  runEnded(sessionDbId: number, end: RunEnd, nowMs: number): void {
    const live = this.#liveRuns.get(sessionDbId);
    if (live === undefined) return; // a run of a worker that has restarted since
    this.#liveRunCount -= 1;
    if (live > 1) this.#liveRuns.set(sessionDbId, live - 1);
    else this.#liveRuns.delete(sessionDbId);
    // With two generators on one session (a bug of its own), what the ended one held cannot be
    // told from the other's: hand back only once the last one ends.
    if (!this.#liveRuns.has(sessionDbId)) this.#claimOrder.runEnded(sessionDbId);
    if (!this.#host.inMemory(sessionDbId) || end === 'finished') this.#stoppedAtMs.delete(sessionDbId);
    else this.#stoppedAtMs.set(sessionDbId, nowMs);
  }

  /**
   * A generator's abort signal fired. Judged in `afterEvent` once the session's runs have ended: a
   * session still in memory then, outside shutdown, was not deleted, evicted or expired, so the
   * target aborted it as hung.
   */
  aborted(sessionDbId: number, lastActivityMs: number, nowMs: number): void {
    if (this.#shuttingDown || !this.#host.inMemory(sessionDbId)) return;
    const silentMs = nowMs - lastActivityMs;
    const timeoutMs = this.#settings.generatorIdleTimeoutMs;
    if (silentMs < timeoutMs && !this.#earlyAborts.has(sessionDbId)) {
      this.#earlyAborts.set(sessionDbId, {
        atMs: nowMs,
        detail: `session ${sessionDbId}'s generator was aborted ${formatMs(silentMs)} after its last activity, within the idle timeout of ${formatMs(timeoutMs)}, while the session stayed in memory`,
      });
    }
  }

  /** After each event (the target settled): early aborts of sessions whose runs have all ended and that are still in memory. */
  afterEvent(): void {
    for (const [sessionDbId, abort] of this.#earlyAborts) {
      if (this.#liveRuns.has(sessionDbId) || this.#lingeringRuns.has(sessionDbId)) continue;
      this.#earlyAborts.delete(sessionDbId);
      if (this.#host.inMemory(sessionDbId)) this.#host.fail('watchdog-not-early', abort.atMs, abort.detail, sessionDbId);
    }
  }

  /** The observer heard of a removal. */
  removed(sessionDbId: number, reason: RemovalReason): void {
    if (reason === 'evicted') this.#seen.evictions += 1;
    if (reason === 'expired') this.#seen.expirations += 1;
    if (reason !== 'shutdown') this.#claimOrder.dropped(sessionDbId); // its queue goes with it
    this.#stoppedAtMs.delete(sessionDbId);
    this.#earlyAborts.delete(sessionDbId); // removed once its generator ended: the abort was the removal's
  }

  /** The driver called shutdown(): aborts from here on are the shutdown's. */
  shutdownBegan(): void {
    this.afterEvent();
    this.#earlyAborts.clear(); // runs still going: shutdown removes their sessions now
    this.#shuttingDown = true;
  }

  /** shutdown() resolved: every generator must have ended, and nothing may be left in flight. */
  shutdownResolved(nowMs: number): void {
    if (this.#liveRunCount > 0) {
      const sessions = [...this.#liveRuns.keys()].sort((a, b) => a - b);
      const shown = sessions.slice(0, 5).join(', ') + (sessions.length > 5 ? ', …' : '');
      this.#host.fail('shutdown-waits', nowMs, `shutdown resolved while ${this.#liveRunCount} generators were still running (sessions ${shown})`);
      return; // what they hold is in flight by right: that is the fault above
    }
    const { inFlight } = this.#store.accounting();
    if (inFlight > 0) this.#host.fail('shutdown-waits', nowMs, `after shutdown, ${inFlight} messages are left in flight: claimed, neither acknowledged nor returned to the queue`);
  }

  /** shutdown() had not resolved when the driver gave up waiting (or it rejected). */
  shutdownUnfinished(nowMs: number, why: string): void {
    this.#host.fail('shutdown-waits', nowMs, why);
  }

  /**
   * At every metrics sample: each counter the target reports against its ground truth. Sessions
   * from the removals reported and history totals from the views (both from the checker), live
   * generators from the agent, refusals from the routes' answers, evictions and expirations from
   * the observer. Trimmed messages have no ground truth outside the target (it decides which
   * appends it accepts) and are not judged.
   */
  checkStats(stats: TargetStats, totals: SessionTotals, nowMs: number): void {
    const truth: [keyof TargetStats, number, string][] = [
      ['activeSessions', totals.activeSessions, 'sessions created and not reported removed'],
      ['generatorsRunning', this.#liveRunCount, 'generators the agent is running'],
      ['historyMessages', totals.historyMessages, "messages in the sessions' history views"],
      ['historyChars', totals.historyChars, "characters in the sessions' history views"],
      ['refusedSessions', this.#seen.refused, 'sessions refused by the routes since the worker started'],
      ['evictions', this.#seen.evictions, 'evictions reported to the observer since the worker started'],
      ['expirations', this.#seen.expirations, 'expirations reported to the observer since the worker started'],
    ];
    const lingering = this.#lingeringCount;
    const agrees = (counter: keyof TargetStats, value: number) =>
      counter === 'generatorsRunning' ? stats[counter] >= value && stats[counter] <= value + lingering : stats[counter] === value;
    const wrong = truth.filter(([counter, value]) => !agrees(counter, value)).map(([counter, value, what]) => `${counter} ${stats[counter]}, but ${value} ${what}`);
    if (wrong.length) this.#host.fail('stats-agree', nowMs, `stats() says ${wrong.join('; ')}`);
  }
}
