/**
 * The executable model of the retention rules: what a session manager that follows them holds
 * after every event. The checker (sim/check/invariants.ts) feeds it what happened, from outside
 * the target (hooks and their answers, the agent's appends, claims and acknowledgements, removals
 * the target reported, time), and after every event compares it with what the target shows:
 * `matches-model`. The first divergence of each session is reported as a story, then that session
 * is no longer judged until it leaves memory, so one slip is one violation, not a cascade.
 *
 * Deliberately simple: a history is a plain array re-trimmed from the front with its token total
 * kept beside it, idle sessions are a map in the order they went idle. It is meant to be read next
 * to docs/reference.md ("The reference rules") and believed; it is never the target's code
 * (src/history.ts is not used, only the definition of a token). Its only concession to speed is
 * that every per-event step is O(1) or O(what the event touched): the queues read from their head
 * are linked (idle sessions through a link each session carries; silent generators and restarts
 * due in OrderedMaps), because a V8 Map's head costs O(deleted entries) to reach, and token
 * totals are kept rather than summed afresh.
 *
 * What it holds, per session in memory: its history (the pinned prompt and the messages after it,
 * hence count, tokens and first message), when it went idle (so when it must expire and who is
 * evicted first), what its queue holds and in which order it hands it out, and its generator
 * (one; when it must be aborted as hung, when restarted after a crash); and for the worker, the
 * counters stats() must show and the timers and listeners its sessions account for.
 * Parameterised by the judged settings and by what the target declares: `pinnedPrompt`, `queue`,
 * `listenersPerSession`, `fixedSettings` (through the judged settings), and which parts of the
 * model it follows (`followsModel`).
 *
 * Cost per event: O(1) per session the event touched (O(maxHistoryMessages) for the full
 * comparison, one touch in MODEL_FULL_CHECK_STRIDE), plus O(1) for the heads of the idle, silent-generator and restart queues (each in deadline
 * order: their delays are constant), the deletes asked for and the sessions a restart must
 * resume. Nothing is proportional to the number of sessions in memory; resources and counters are
 * read at metrics samples, as the bounds they mirror are.
 */
import type { ModelPart, RemovalReason, TargetDescription } from '../../src/contract.ts';
import { CHARS_PER_TOKEN, estimateTokens, type ConversationMessage } from '../../src/history.ts';
import type { RetentionSettings } from '../../src/settings.ts';
import { formatMs, formatSimTime } from '../engine/sim-time.ts';
import { LinkedQueue, QueueLink } from '../../src/linked-queue.ts';
import { OrderedMap } from './ordered-map.ts';

/**
 * Timer granularity: an idle session may still be in memory this long after the model expires it.
 * The reference expires on time to the millisecond; a target that sweeps on a coarse timer (once
 * a second) is still following the rule. Never early: an expiry before the deadline has no slack.
 */
export const MODEL_EXPIRY_SLACK_MS = 1_000;
/**
 * Async settling: a target whose routes answer with promises may hold a session it has not yet
 * announced. Membership (the session count, the sessions a restart resumes) is compared only once
 * every route has answered, after the driver's settle; never on a time allowance.
 */
export const MODEL_WAITS_FOR_ROUTES = true;
/**
 * The full message-by-message comparison reads a copy of the target's history: every time for a
 * session's first MODEL_FULL_CHECKS_EVERY_TIME touches, then one in MODEL_FULL_CHECK_STRIDE (the
 * checker's orphan check does the same, for the same cost). Count, tokens and first message are
 * compared at every touch.
 */
export const MODEL_FULL_CHECKS_EVERY_TIME = 64;
export const MODEL_FULL_CHECK_STRIDE = 8;

/**
 * Timer granularity for generators: a hung generator may still run this long after the model
 * aborts it, and a crashed one may wait this long past its restart delay (a target that checks
 * its generators on a coarse timer). Never early: neither has slack the other way.
 */
export const MODEL_GENERATOR_SLACK_MS = 1_000;

/**
 * Timers and listeners a target may hold beyond what its sessions in memory account for: a sweep
 * timer, a shutdown hook, a listener on process signals. The same allowance as the bounds'.
 */
export const MODEL_RESOURCE_SLACK = 4;

export const MODEL_PARTS: readonly ModelPart[] = ['sessions', 'expiry', 'history', 'queue', 'generators', 'counters', 'resources'];

/** The parts a description opts into: none unless it declares `followsModel`. */
export function modelParts(description: TargetDescription): ReadonlySet<ModelPart> {
  const declared = description.followsModel;
  if (declared === true) return new Set(MODEL_PARTS);
  if (Array.isArray(declared)) return new Set(declared);
  return new Set();
}

/** A session's queue: message ids waiting, in the order they must be handed out, and those in flight. */
interface ModelQueue {
  queued: number[];
  inFlight: number[];
}

/** A session's generators as the model sees them (keyed by session id: a run may start before the session is announced). */
interface ModelGenerator {
  /** Live runs: the model allows one. */
  live: number;
  /** Whether the live run waits for work on the target's iterator (busy only while processing; not judged as hung). */
  waits: boolean;
  lastActivityMs: number;
  /** Messages the current run claimed. */
  claims: number;
  /** A run was aborted and lingers on: its restart delay counts from when it settles. */
  lingering: boolean;
}

/** The model's own count of what happened in this worker incarnation, held against stats(). */
interface ModelCounters {
  expirations: number;
  evictions: number;
  refused: number;
}

interface ModelSession {
  readonly sessionDbId: number;
  readonly pinned: ConversationMessage;
  /** The messages after the pinned prompt, oldest first. */
  messages: ConversationMessage[];
  /** Tokens of the pinned prompt and the messages: the history's total, kept as messages come and go. */
  tokens: number;
  /** Messages offered to this history since it was created, the pinned prompt included: "the 51st message". */
  seen: number;
  /** Undefined while busy. */
  idleSinceMs: number | undefined;
  /** Reported once: no longer judged until it leaves memory. */
  diverged: boolean;
  /** Touches so far, for the stride of the full comparison. */
  touches: number;
  /** Its place in the model's idle queue while idle (allocated once: sessions go idle and busy all day). */
  readonly idleLink: QueueLink<ModelSession>;
}

/** What the target shows of one session (the contract's SessionView, and its history on demand). */
export interface TargetSessionView {
  readonly historyMessages: number;
  readonly historyTokens: number;
  readonly firstMessage: ConversationMessage | undefined;
  readonly pending: number;
}

export interface Divergence {
  readonly sessionDbId?: number;
  readonly detail: string;
}

export class RetentionModel {
  readonly #settings: RetentionSettings;
  readonly #parts: ReadonlySet<ModelPart>;
  readonly #memoryQueue: boolean;
  readonly #sessions = new Map<number, ModelSession>();
  /** Idle sessions in the order they went idle: the head expires first and is evicted first. */
  readonly #idle = new LinkedQueue<ModelSession>();
  /** Pending messages per session (queued and in flight), kept across restarts unless the queue lives in memory. */
  readonly #queue = new Map<number, ModelQueue>();
  readonly #generators = new Map<number, ModelGenerator>();
  /** Sessions with a non-waiting generator running, least recently active first: the head is aborted first. */
  readonly #silent = new OrderedMap<number, ModelGenerator>();
  /** Sessions whose generator stopped with work left, by when the model restarts it at the latest (a constant delay: insertion order is due order). */
  readonly #restartDue = new OrderedMap<number, number>();
  /** The same sessions, by when the model restarts them at the earliest: the stop plus the delay. */
  readonly #restartNotBefore = new Map<number, number>();
  /**
   * Stopped in this event: the target learns of a generator's end when its promise settles, which
   * for a worker that was asleep is the wake-up, after the clock moved on. The latest restart is
   * counted from the end of the event.
   */
  readonly #restartSettling = new Set<number>();
  /** Aborts of generators silent for less than the idle timeout, judged once the session's runs have ended. */
  readonly #earlyAborts = new Map<number, string>();
  #counters: ModelCounters = { expirations: 0, evictions: 0, refused: 0 };
  readonly #countersReported = new Set<keyof ModelCounters>();
  /** Appends to a session the target has not announced yet (its generator starts inside the route that creates it). */
  readonly #early = new Map<number, ConversationMessage[]>();
  /** Deletes asked for in this event: the session must be gone when it is over. */
  readonly #deleting = new Set<number>();
  /** Sessions a restarted worker must resume (pending work in the persisted queue), with what they held. */
  readonly #mustResume = new Map<number, number>();
  /** Evictions reported in this event and not yet matched with the creation they made room for. */
  #roomMade = 0;
  #closing = false;
  #countDiverged = false;
  readonly #found: Divergence[] = [];

  readonly #listenersPerSession: number;
  readonly #resourcesReported = new Set<string>();

  constructor(settings: RetentionSettings, description: TargetDescription) {
    this.#settings = settings;
    this.#listenersPerSession = description.listenersPerSession ?? 1;
    this.#parts = modelParts(description);
    this.#memoryQueue = description.queue === 'memory';
  }

  /** Whether the target follows any part of the model. */
  get judged(): boolean {
    return this.#parts.size > 0;
  }

  follows(part: ModelPart): boolean {
    return this.#parts.has(part);
  }

  /** Divergences found since the last call, in the order found. */
  takeDivergences(): Divergence[] {
    return this.#found.splice(0);
  }

  // ---- what happened ----------------------------------------------------------------------

  /** A new worker incarnation: memory is gone; every session with pending work must be resumed. */
  workerStarted(): void {
    this.#sessions.clear();
    this.#idle.clear();
    this.#early.clear();
    this.#deleting.clear();
    this.#mustResume.clear();
    this.#roomMade = 0;
    this.#closing = false;
    this.#countDiverged = false;
    this.#generators.clear(); // the old worker's generators died with it
    this.#silent.clear();
    this.#restartDue.clear();
    this.#restartNotBefore.clear();
    this.#restartSettling.clear();
    this.#earlyAborts.clear();
    this.#counters = { expirations: 0, evictions: 0, refused: 0 };
    this.#countersReported.clear();
    if (this.#memoryQueue) this.#queue.clear(); // declared: the queue dies with the process
    for (const [sessionDbId, queue] of this.#queue) {
      // What was in flight goes back to the front of its queue, oldest first.
      queue.queued = [...queue.inFlight.sort((a, b) => a - b), ...queue.queued];
      queue.inFlight = [];
      if (queue.queued.length > 0) this.#mustResume.set(sessionDbId, queue.queued.length);
    }
  }

  /** The target created a session, pinned to `pinnedText`: from a route (`recovered` false) or resumed at start-up. */
  created(sessionDbId: number, pinnedText: string, nowMs: number, recovered: boolean): void {
    if (!this.judged) return;
    if (this.#sessions.has(sessionDbId)) return; // removals-reported names a second creation
    if (recovered) {
      if (!this.#mustResume.delete(sessionDbId) && this.follows('sessions')) {
        this.#diverge(sessionDbId, `after the worker restart the target resumed session ${sessionDbId}, which had no pending work; the model resumes only sessions with pending messages`);
      }
    } else if (this.#sessions.size >= this.#settings.maxActiveSessions) {
      if (this.#roomMade > 0) this.#roomMade -= 1;
      else if (this.follows('sessions')) {
        const idlest = this.#idle.first();
        this.#diverge(
          sessionDbId,
          idlest
            ? `the target created session ${sessionDbId} with ${this.#sessions.size} sessions in memory (the cap) without evicting one; the model evicts session ${idlest.sessionDbId}, idle since ${formatSimTime(idlest.idleSinceMs!)}`
            : `the target created session ${sessionDbId} with ${this.#sessions.size} sessions in memory (the cap), all busy; the model refuses it`,
        );
      }
    }
    const budget = Math.floor(this.#settings.maxHistoryTokens / 2);
    const pinned = fitted({ role: 'user', content: pinnedText }, budget);
    const idleLink = new QueueLink<ModelSession>(undefined as unknown as ModelSession);
    const session: ModelSession = { sessionDbId, pinned, messages: [], tokens: estimateTokens(pinned.content), seen: 1, idleSinceMs: nowMs, diverged: false, touches: 0, idleLink };
    idleLink.value = session;
    this.#sessions.set(sessionDbId, session);
    this.#idle.append(idleLink);
    for (const message of this.#early.get(sessionDbId) ?? []) this.#append(session, message);
    this.#early.delete(sessionDbId);
  }

  /** The target refused a session at the cap. */
  refused(): void {
    this.#counters.refused += 1;
    if (!this.follows('sessions')) return;
    const idlest = this.#idle.first();
    if (this.#sessions.size < this.#settings.maxActiveSessions) {
      this.#diverge(undefined, `the target refused a session with ${this.#sessions.size} of ${this.#settings.maxActiveSessions} sessions in memory; the model has room for it`);
    } else if (idlest) {
      this.#diverge(undefined, `the target refused a session at the cap while session ${idlest.sessionDbId} was idle (since ${formatSimTime(idlest.idleSinceMs!)}); the model evicts it and lets the new one in`);
    }
  }

  /** A prompt for a session already in memory: the target appends it to the history. */
  prompted(sessionDbId: number, text: string): void {
    if (!this.judged) return;
    const session = this.#sessions.get(sessionDbId);
    if (session) this.#append(session, { role: 'user', content: text });
  }

  /** The agent appended a message through a live generator context (not one the target must ignore). */
  appended(sessionDbId: number, message: ConversationMessage): void {
    // Histories are the one thing the model holds that the target holds too: a model that judges
    // nothing keeps none of them (a heap snapshot would count them as the target's).
    if (!this.judged) return;
    const session = this.#sessions.get(sessionDbId);
    if (session) return this.#append(session, message);
    let early = this.#early.get(sessionDbId);
    if (!early) this.#early.set(sessionDbId, (early = []));
    early.push(message);
  }

  enqueued(sessionDbId: number, messageId: number): void {
    const queue = this.#queueOf(sessionDbId);
    // A generator started inside the route may have claimed it before the route's answer was seen.
    if (!queue.inFlight.includes(messageId)) queue.queued.push(messageId);
  }

  #queueOf(sessionDbId: number): ModelQueue {
    let queue = this.#queue.get(sessionDbId);
    if (!queue) this.#queue.set(sessionDbId, (queue = { queued: [], inFlight: [] }));
    return queue;
  }

  /** The agent was handed message `messageId`: it must be the first the model's queue hands out. */
  claimed(sessionDbId: number, messageId: number, nowMs: number): void {
    const generator = this.#generators.get(sessionDbId);
    if (generator) {
      generator.claims += 1;
      this.#active(sessionDbId, generator, nowMs);
    }
    const queue = this.#queueOf(sessionDbId);
    const expected = queue.queued[0];
    const session = this.#sessions.get(sessionDbId);
    if (expected !== undefined && expected !== messageId && this.follows('queue') && session && !session.diverged) {
      this.#diverge(sessionDbId, `the agent was handed message #${messageId} of session ${sessionDbId}; the model hands out #${expected} first (${expected < messageId ? 'older, handed back by a generator that ended without finishing it' : 'queued first'})`);
    }
    removeFrom(queue.queued, messageId);
    queue.inFlight.push(messageId);
  }

  acknowledged(sessionDbId: number, messageId: number): void {
    const queue = this.#queue.get(sessionDbId);
    if (!queue) return;
    removeFrom(queue.inFlight, messageId);
    if (queue.queued.length === 0 && queue.inFlight.length === 0) this.#queue.delete(sessionDbId);
  }

  /** A hook for this session is about to reach the target: new work may start its generator at once. */
  hookFor(sessionDbId: number): void {
    this.#forgetRestart(sessionDbId);
  }

  runStarted(sessionDbId: number, nowMs: number, waits: boolean): void {
    let generator = this.#generators.get(sessionDbId);
    if (!generator) this.#generators.set(sessionDbId, (generator = { live: 0, waits, lastActivityMs: nowMs, claims: 0, lingering: false }));
    generator.live += 1;
    generator.waits = waits;
    generator.claims = 0;
    const session = this.#sessions.get(sessionDbId);
    const judged = this.follows('generators') && session !== undefined && !session.diverged;
    if (judged && generator.live > 1) this.#diverge(sessionDbId, `a second generator started for session ${sessionDbId} while one was running; the model runs one generator per session`);
    const dueMs = this.#restartNotBefore.get(sessionDbId);
    this.#forgetRestart(sessionDbId);
    if (judged && dueMs !== undefined && nowMs < dueMs) {
      this.#diverge(sessionDbId, `session ${sessionDbId}'s generator was restarted at ${formatSimTime(nowMs)}; the model restarts it at ${formatSimTime(dueMs)}, the restart delay of ${formatMs(this.#settings.generatorRestartDelayMs)} after it stopped, with no new work for it`);
    }
    this.#active(sessionDbId, generator, nowMs);
  }

  /** The generator showed activity (claimed, appended, acknowledged). */
  generatorActivity(sessionDbId: number, nowMs: number): void {
    const generator = this.#generators.get(sessionDbId);
    if (generator && generator.live > 0) this.#active(sessionDbId, generator, nowMs);
  }

  runEnded(sessionDbId: number, end: 'finished' | 'crashed' | 'aborted', nowMs: number): void {
    const generator = this.#generators.get(sessionDbId);
    if (!generator) return; // a run of a worker that has restarted since
    generator.live = Math.max(0, generator.live - 1);
    if (generator.live > 0) return;
    this.#silent.delete(sessionDbId);
    // What it held goes back to the front of the queue, oldest first.
    const queue = this.#queue.get(sessionDbId);
    if (queue && queue.inFlight.length > 0) {
      queue.queued = [...queue.inFlight.sort((a, b) => a - b), ...queue.queued];
      queue.inFlight = [];
    }
    const pending = queue ? queue.queued.length : 0;
    // A run that crashed, was aborted, or ended without taking any of the work left is restarted after the delay.
    if (this.#sessions.has(sessionDbId) && !this.#closing && pending > 0 && (end !== 'finished' || generator.claims === 0)) {
      this.#forgetRestart(sessionDbId);
      if (!generator.lingering) this.#restartAfterDelay(sessionDbId, nowMs);
    }
    if (!generator.lingering) this.#generators.delete(sessionDbId);
  }

  /** An aborted run lingers (`started`), or has settled at last: its restart delay counts from then. */
  lingering(sessionDbId: number, started: boolean, nowMs: number): void {
    let generator = this.#generators.get(sessionDbId);
    if (started) {
      // Reported after the run counted as ended: the restart delay counts from when it settles.
      if (!generator) this.#generators.set(sessionDbId, (generator = { live: 0, waits: false, lastActivityMs: nowMs, claims: 0, lingering: true }));
      generator.lingering = true;
      this.#silent.delete(sessionDbId);
      this.#forgetRestart(sessionDbId);
      return;
    }
    if (!generator || !generator.lingering) return;
    generator.lingering = false;
    const queue = this.#queue.get(sessionDbId);
    if (generator.live === 0) {
      this.#generators.delete(sessionDbId);
      if (this.#sessions.has(sessionDbId) && !this.#closing && queue && queue.queued.length > 0) {
        this.#forgetRestart(sessionDbId);
        this.#restartAfterDelay(sessionDbId, nowMs);
      }
    }
  }

  /** A generator's abort signal fired; its last activity was at `lastActivityMs`. */
  aborted(sessionDbId: number, lastActivityMs: number, nowMs: number): void {
    this.#silent.delete(sessionDbId);
    if (this.#closing || !this.#sessions.has(sessionDbId)) return;
    const silentMs = nowMs - lastActivityMs;
    const timeoutMs = this.#settings.generatorIdleTimeoutMs;
    if (silentMs < timeoutMs && !this.#earlyAborts.has(sessionDbId)) {
      this.#earlyAborts.set(sessionDbId, `the target aborted session ${sessionDbId}'s generator at ${formatSimTime(nowMs)}, ${formatMs(silentMs)} after its last activity, and kept the session; the model aborts a generator only once it has been silent for ${formatMs(timeoutMs)}`);
    }
  }

  /** shutdown() resolved: the model's shutdown has waited for every generator. */
  shutdownResolved(): void {
    if (!this.follows('generators')) return;
    for (const [sessionDbId, generator] of this.#generators) {
      if (generator.live > 0) return this.#diverge(undefined, `shutdown resolved while session ${sessionDbId}'s generator was still running; the model's shutdown resolves once every generator has ended`);
    }
  }

  /** At every sample: the target's counters against the model's count of this incarnation. */
  checkCounters(stats: { readonly expirations: number; readonly evictions: number; readonly refusedSessions: number }): void {
    if (!this.follows('counters')) return;
    const reported: ModelCounters = { expirations: stats.expirations, evictions: stats.evictions, refused: stats.refusedSessions };
    for (const key of ['expirations', 'evictions', 'refused'] as const) {
      if (reported[key] === this.#counters[key] || this.#countersReported.has(key)) continue;
      this.#countersReported.add(key);
      this.#diverge(undefined, `since the worker started the model counts ${this.#counters[key]} ${key === 'refused' ? 'refused sessions' : key}; stats() says ${reported[key]}`);
    }
  }

  /**
   * At every sample: what the model's sessions account for. A session in memory holds at most
   * `listenersPerSession` listeners and one timer (its deadline); one that left memory holds none.
   * Reported once per kind until the target is back within them.
   */
  checkResources(counts: { readonly timers: number; readonly listeners: number }): void {
    if (!this.follows('resources')) return;
    const sessions = this.#sessions.size;
    const listenerBound = sessions * this.#listenersPerSession + MODEL_RESOURCE_SLACK;
    this.#resource('listeners', counts.listeners > listenerBound, `the model's ${plural(sessions, 'session')} in memory account for at most ${listenerBound} listeners (${this.#listenersPerSession} each + ${MODEL_RESOURCE_SLACK}); the target holds ${counts.listeners}`);
    const timerBound = sessions + MODEL_RESOURCE_SLACK;
    this.#resource('timers', counts.timers > timerBound, `the model's ${plural(sessions, 'session')} in memory account for at most ${timerBound} timers (one deadline each + ${MODEL_RESOURCE_SLACK}); the target holds ${counts.timers}`);
  }

  /** At every sample: the abort listeners on one session's latest generator signal (a fresh signal per run carries only the running agent's own). */
  checkRunSignal(sessionDbId: number, listeners: number): void {
    if (!this.follows('resources')) return;
    const bound = this.#listenersPerSession + 1;
    this.#resource(`signal ${sessionDbId}`, listeners > bound, `session ${sessionDbId}'s generator signal carries ${listeners} abort listeners; the model's fresh signal per run carries at most ${bound} (${this.#listenersPerSession} + the running agent's own)`, sessionDbId);
  }

  #resource(kind: string, over: boolean, detail: string, sessionDbId?: number): void {
    if (!over) {
      this.#resourcesReported.delete(kind);
      return;
    }
    if (this.#resourcesReported.has(kind)) return;
    this.#resourcesReported.add(kind);
    this.#found.push(sessionDbId === undefined ? { detail } : { sessionDbId, detail });
  }

  #restartAfterDelay(sessionDbId: number, stoppedAtMs: number): void {
    this.#restartNotBefore.set(sessionDbId, stoppedAtMs + this.#settings.generatorRestartDelayMs);
    this.#restartSettling.add(sessionDbId);
  }

  #forgetRestart(sessionDbId: number): void {
    this.#restartDue.delete(sessionDbId);
    this.#restartNotBefore.delete(sessionDbId);
    this.#restartSettling.delete(sessionDbId);
  }

  #active(sessionDbId: number, generator: ModelGenerator, nowMs: number): void {
    generator.lastActivityMs = nowMs;
    if (!generator.waits && generator.live > 0 && !generator.lingering) this.#silent.setLast(sessionDbId, generator);
    else this.#silent.delete(sessionDbId);
  }

  /** The delete (or complete) route was called for this session. */
  deleting(sessionDbId: number): void {
    if (this.#sessions.has(sessionDbId)) this.#deleting.add(sessionDbId);
  }

  shutdownBegan(): void {
    this.#closing = true;
  }

  /** The target reported a removal. Judged against the model, then the session leaves it. */
  removed(sessionDbId: number, reason: RemovalReason, nowMs: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session) return; // removals-reported names it
    if (!session.diverged) {
      if (reason === 'expired' && this.follows('expiry')) this.#judgeExpiry(session, nowMs);
      else if (reason === 'evicted' && this.follows('sessions')) this.#judgeEviction(session);
      else if (reason === 'deleted' && this.follows('sessions') && !this.#deleting.has(sessionDbId)) this.#diverge(sessionDbId, `the target reported session ${sessionDbId} deleted, but no delete was asked for`);
      else if (reason === 'shutdown' && this.follows('sessions') && !this.#closing) this.#diverge(sessionDbId, `the target reported session ${sessionDbId} removed at shutdown, but no shutdown was asked for`);
    }
    if (reason === 'evicted') this.#roomMade += 1;
    if (reason === 'evicted') this.#counters.evictions += 1;
    if (reason === 'expired') this.#counters.expirations += 1;
    this.#deleting.delete(sessionDbId);
    this.#forgetRestart(sessionDbId);
    this.#earlyAborts.delete(sessionDbId);
    // Its pending work goes with it (a delete drops it; an eviction or expiry of a busy session is
    // judged above), except at shutdown: the persisted queue waits for the next worker.
    if (reason !== 'shutdown') this.#queue.delete(sessionDbId);
    this.#forget(sessionDbId);
  }

  /** A session the event touched, as the ground truth sees it: busy (running, processing, pending) or idle. */
  settled(sessionDbId: number, busy: boolean, nowMs: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    // Every touch is activity: an idle session touched again is idle from now (the checker's rule too).
    session.idleSinceMs = busy ? undefined : nowMs;
    if (busy) this.#idle.delete(session.idleLink);
    else this.#idle.moveToBack(session.idleLink);
  }

  // ---- comparisons --------------------------------------------------------------------------

  /**
   * Compares one touched session with the target's view of it. `history` reads a copy of the
   * target's history (only when the full comparison is due).
   */
  compare(sessionDbId: number, view: TargetSessionView | undefined, history: (sessionDbId: number) => readonly ConversationMessage[] | undefined): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session || session.diverged) return;
    if (!view) return; // removed without a report: the count comparison and removals-reported name it
    if (this.follows('history')) {
      const count = 1 + session.messages.length;
      const tokens = session.tokens;
      const first = session.pinned;
      const firstAgrees = view.firstMessage !== undefined && view.firstMessage.role === first.role && view.firstMessage.content === first.content;
      if (view.historyMessages !== count || view.historyTokens !== tokens || !firstAgrees) {
        const parts = [
          view.historyMessages !== count ? `keeps ${plural(view.historyMessages, 'message')}` : `keeps ${plural(view.historyMessages, 'message')} too`,
          view.historyTokens !== tokens ? `counts ${view.historyTokens} tokens` : '',
          !firstAgrees ? `starts with ${describeMessage(view.firstMessage, session)}` : '',
        ].filter(Boolean);
        return this.#diverge(
          sessionDbId,
          `after the ${ordinal(session.seen)} message of session ${sessionDbId}, the model keeps ${plural(count, 'message')} / ${tokens} tokens (first: ${describeMessage(first, session)}); the target ${parts.join(', ')}`,
        );
      }
      session.touches += 1;
      if (session.touches <= MODEL_FULL_CHECKS_EVERY_TIME || session.touches % MODEL_FULL_CHECK_STRIDE === 0) {
        const actual = history(sessionDbId);
        if (actual) {
          const at = firstDifference(session, actual);
          if (at >= 0) {
            const expected = this.#history(session);
            return this.#diverge(
              sessionDbId,
              `after the ${ordinal(session.seen)} message of session ${sessionDbId}, the model's history and the target's differ at message ${at + 1} of ${expected.length}: the model keeps ${describeMessage(expected[at], session)}, the target ${describeMessage(actual[at], session)}`,
            );
          }
        }
      }
    }
    if (this.follows('queue')) {
      const queue = this.#queue.get(sessionDbId);
      const pending = queue ? queue.queued.length + queue.inFlight.length : 0;
      if (view.pending !== pending) {
        this.#diverge(sessionDbId, `session ${sessionDbId}'s queue: the model holds ${plural(pending, 'pending message')} (queued and not yet acknowledged); the target shows ${view.pending}`);
      }
    }
  }

  /**
   * After every event (once every route has answered): the idle head's deadline, the deletes
   * asked for, the sessions a restart must resume, and the session count.
   */
  afterEvent(nowMs: number, targetSessionCount: number, routesUnanswered: number): void {
    if (this.follows('expiry')) this.#checkIdleHead(nowMs);
    if (this.#restartSettling.size > 0) {
      for (const sessionDbId of this.#restartSettling) this.#restartDue.set(sessionDbId, nowMs + this.#settings.generatorRestartDelayMs);
      this.#restartSettling.clear();
    }
    if (this.follows('generators')) this.#checkGenerators(nowMs);
    if (this.#deleting.size > 0) {
      for (const sessionDbId of this.#deleting) {
        const session = this.#sessions.get(sessionDbId);
        if (session && !session.diverged && this.follows('sessions')) this.#diverge(sessionDbId, `the delete route was called for session ${sessionDbId}; the model removes it, the target still holds it`);
      }
      this.#deleting.clear();
    }
    this.#roomMade = 0;
    if (this.#early.size > 0) this.#early.clear();
    if (MODEL_WAITS_FOR_ROUTES && routesUnanswered > 0) return;
    if (this.#mustResume.size > 0) {
      for (const [sessionDbId, pending] of this.#mustResume) {
        if (this.follows('sessions')) this.#diverge(sessionDbId, `after the worker restart, session ${sessionDbId} had ${plural(pending, 'pending message')} (queued or in flight when the worker stopped); the model resumes it, the target does not`);
      }
      this.#mustResume.clear();
    }
    if (!this.follows('sessions')) return;
    const agrees = targetSessionCount === this.#sessions.size;
    if (!agrees && !this.#countDiverged) this.#diverge(undefined, `the model holds ${plural(this.#sessions.size, 'session')} in memory; the target holds ${targetSessionCount}`);
    this.#countDiverged = !agrees;
  }

  // ---- the rules ----------------------------------------------------------------------------

  /** The pinned prompt, then the messages after it. */
  #history(session: ModelSession): ConversationMessage[] {
    return [session.pinned, ...session.messages];
  }

  /**
   * The history rule (docs/reference.md, "History trimming"), written out plainly: cut a message
   * larger than its room to fit; append; while over either bound drop the oldest unpinned
   * message; if anything was dropped, drop replies left first after the pinned prompt.
   */
  #append(session: ModelSession, message: ConversationMessage): void {
    const { maxHistoryMessages, maxHistoryTokens } = this.#settings;
    session.seen += 1;
    const kept = fitted(message, maxHistoryTokens - estimateTokens(session.pinned.content));
    session.messages.push(kept);
    session.tokens += estimateTokens(kept.content);
    let dropped = 0;
    while (session.messages.length > 0 && (1 + session.messages.length > maxHistoryMessages || session.tokens > maxHistoryTokens)) {
      this.#dropOldest(session);
      dropped += 1;
    }
    if (dropped > 0) while (session.messages[0]?.role === 'assistant') this.#dropOldest(session);
  }

  #dropOldest(session: ModelSession): void {
    session.tokens -= estimateTokens(session.messages.shift()!.content);
  }

  #judgeExpiry(session: ModelSession, nowMs: number): void {
    const id = session.sessionDbId;
    if (session.idleSinceMs === undefined) return this.#diverge(id, `the target expired session ${id} while it was busy; the model keeps a busy session`);
    const dueMs = session.idleSinceMs + this.#settings.ttlMs;
    if (nowMs < dueMs) {
      this.#diverge(id, `the target expired session ${id} at ${formatSimTime(nowMs)}, after ${formatMs(nowMs - session.idleSinceMs)} idle; the model keeps it until ${formatSimTime(dueMs)} (idle since ${formatSimTime(session.idleSinceMs)}, TTL ${formatMs(this.#settings.ttlMs)})`);
    }
  }

  #judgeEviction(session: ModelSession): void {
    const id = session.sessionDbId;
    if (session.idleSinceMs === undefined) return this.#diverge(id, `the target evicted session ${id} while it was busy; the model evicts only idle sessions`);
    const idlest = this.#idle.first()!;
    // Ties (two sessions idle since the same moment) may go either way.
    if (idlest.idleSinceMs! < session.idleSinceMs) {
      this.#diverge(id, `the target evicted session ${id} (idle since ${formatSimTime(session.idleSinceMs)}); the model evicts session ${idlest.sessionDbId}, idle since ${formatSimTime(idlest.idleSinceMs!)}`);
    }
  }

  /** The session idle longest must be gone by its deadline plus the slack; reported once. */
  #checkIdleHead(nowMs: number): void {
    const head = this.#idle.first();
    if (!head || head.idleSinceMs === undefined) return;
    const dueMs = head.idleSinceMs + this.#settings.ttlMs;
    if (nowMs <= dueMs + MODEL_EXPIRY_SLACK_MS) return;
    this.#diverge(head.sessionDbId, `session ${head.sessionDbId} has been idle since ${formatSimTime(head.idleSinceMs)}: the model expires it at ${formatSimTime(dueMs)} (TTL ${formatMs(this.#settings.ttlMs)}); the target still holds it at ${formatSimTime(nowMs)}, ${formatMs(nowMs - dueMs)} late`);
  }

  /**
   * The generator silent longest must have been aborted by its idle timeout plus the slack; the
   * restart due first must have happened by its time plus the slack; an early abort of a session
   * still in memory once its runs ended. Each reported once.
   */
  #checkGenerators(nowMs: number): void {
    const timeoutMs = this.#settings.generatorIdleTimeoutMs;
    const silent = this.#silent.first();
    if (silent && nowMs > silent.value.lastActivityMs + timeoutMs + MODEL_GENERATOR_SLACK_MS) {
      const { key: sessionDbId, value: generator } = silent;
      this.#silent.delete(sessionDbId);
      const session = this.#sessions.get(sessionDbId);
      if (session && !session.diverged) {
        this.#diverge(sessionDbId, `session ${sessionDbId}'s generator has been silent since ${formatSimTime(generator.lastActivityMs)}: the model aborts it at ${formatSimTime(generator.lastActivityMs + timeoutMs)} (idle timeout ${formatMs(timeoutMs)}); the target has not by ${formatSimTime(nowMs)}`);
      }
    }
    const restart = this.#restartDue.first();
    if (restart && nowMs > restart.value + MODEL_GENERATOR_SLACK_MS) {
      const { key: sessionDbId, value: dueMs } = restart;
      this.#forgetRestart(sessionDbId);
      const session = this.#sessions.get(sessionDbId);
      if (session && !session.diverged && !this.#closing) {
        this.#diverge(sessionDbId, `session ${sessionDbId}'s generator stopped with work left: the model restarts it at ${formatSimTime(dueMs)} (restart delay ${formatMs(this.#settings.generatorRestartDelayMs)}); the target has not by ${formatSimTime(nowMs)}`);
      }
    }
    if (this.#earlyAborts.size > 0) this.#checkEarlyAborts();
  }

  #checkEarlyAborts(): void {
    for (const [sessionDbId, detail] of this.#earlyAborts) {
      if ((this.#generators.get(sessionDbId)?.live ?? 0) > 0 || this.#generators.get(sessionDbId)?.lingering) continue;
      this.#earlyAborts.delete(sessionDbId);
      const session = this.#sessions.get(sessionDbId);
      if (session && !session.diverged) this.#diverge(sessionDbId, detail);
    }
  }

  #diverge(sessionDbId: number | undefined, detail: string): void {
    this.#found.push(sessionDbId === undefined ? { detail } : { sessionDbId, detail });
    if (sessionDbId === undefined) return;
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    session.diverged = true;
    this.#idle.delete(session.idleLink); // not judged again until it leaves memory
    this.#mustResume.delete(sessionDbId);
    this.#silent.delete(sessionDbId);
    this.#forgetRestart(sessionDbId);
  }

  #forget(sessionDbId: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    this.#sessions.delete(sessionDbId);
    this.#idle.delete(session.idleLink);
  }
}

/** Where `actual` first differs from the session's history (the pinned prompt, then its messages); -1 when it does not. */
function firstDifference(session: ModelSession, actual: readonly ConversationMessage[]): number {
  const count = 1 + session.messages.length;
  for (let index = 0; index < count; index += 1) {
    const message = index === 0 ? session.pinned : session.messages[index - 1]!;
    const other = actual[index];
    if (other === undefined || other.role !== message.role || other.content !== message.content) return index;
  }
  return -1;
}

/** A message cut to `roomTokens`, keeping its beginning (the reference's rule for one message larger than its room). */
function fitted(message: ConversationMessage, roomTokens: number): ConversationMessage {
  if (estimateTokens(message.content) <= roomTokens) return message;
  return { role: message.role, content: message.content.slice(0, Math.max(0, roomTokens) * CHARS_PER_TOKEN) };
}

function describeMessage(message: ConversationMessage | undefined, session: ModelSession): string {
  if (!message) return 'nothing (an empty history)';
  if (message.role === session.pinned.role && message.content === session.pinned.content) return 'the init prompt';
  const head = message.content.slice(0, 24).replace(/\s+/g, ' ');
  return `${message.role === 'user' ? 'a prompt' : 'a reply'} "${head}${message.content.length > 24 ? '…' : ''}" (${message.content.length} chars)`;
}

export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** Takes `id` out of `ids` where it is; usually the first, taken without the array splice allocates. */
function removeFrom(ids: number[], id: number): void {
  if (ids[0] === id) ids.shift();
  else {
    const at = ids.indexOf(id);
    if (at >= 0) ids.splice(at, 1);
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

