/**
 * The executable model of the retention rules: what a session manager that follows them holds
 * after every event. The checker (sim/check/invariants.ts) feeds it what happened, from outside
 * the target (hooks and their answers, the agent's appends, claims and acknowledgements, removals
 * the target reported, time), and after every event compares it with what the target shows:
 * `matches-model`. The first divergence of each session is reported as a story, then that session
 * is no longer judged until it leaves memory, so one slip is one violation, not a cascade.
 *
 * Deliberately simple and unoptimised: a history is a plain array re-trimmed from the front,
 * token counts are summed afresh, idle sessions are a Map in the order they went idle. It is meant
 * to be read next to docs/reference.md ("The reference rules") and believed, not to be fast; it
 * is never the target's code (src/history.ts is not used, only the definition of a token).
 *
 * What it holds, per session in memory: its history (the pinned prompt and the messages after it,
 * hence count, tokens and first message), when it went idle (so when it must expire and who is
 * evicted first), and what its queue holds. Parameterised by the judged settings and by what the
 * target declares: `pinnedPrompt`, `queue`, `fixedSettings` (through the judged settings), and
 * which parts of the model it follows (`followsModel`).
 *
 * Cost per event: O(touched sessions × maxHistoryMessages) for the sessions the event touched,
 * plus O(1) for the idle head, the deletes asked for and the sessions a restart must resume.
 * Nothing is proportional to the number of sessions in memory.
 */
import type { ModelPart, RemovalReason, TargetDescription } from '../../src/contract.ts';
import { CHARS_PER_TOKEN, estimateTokens, type ConversationMessage } from '../../src/history.ts';
import type { RetentionSettings } from '../../src/settings.ts';
import { formatMs, formatSimTime } from '../engine/sim-time.ts';

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

export const MODEL_PARTS: readonly ModelPart[] = ['sessions', 'expiry', 'history', 'queue'];

/** The parts a description opts into: none unless it declares `followsModel`. */
export function modelParts(description: TargetDescription): ReadonlySet<ModelPart> {
  const declared = description.followsModel;
  if (declared === true) return new Set(MODEL_PARTS);
  if (Array.isArray(declared)) return new Set(declared);
  return new Set();
}

interface ModelSession {
  readonly sessionDbId: number;
  readonly pinned: ConversationMessage;
  /** The messages after the pinned prompt, oldest first. */
  messages: ConversationMessage[];
  /** Messages offered to this history since it was created, the pinned prompt included: "the 51st message". */
  seen: number;
  /** Undefined while busy. */
  idleSinceMs: number | undefined;
  /** Reported once: no longer judged until it leaves memory. */
  diverged: boolean;
  /** Touches so far, for the stride of the full comparison. */
  touches: number;
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
  readonly #idle = new Map<number, ModelSession>();
  /** Pending messages per session (queued or in flight), kept across restarts unless the queue lives in memory. */
  readonly #queue = new Map<number, number>();
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

  constructor(settings: RetentionSettings, description: TargetDescription) {
    this.#settings = settings;
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
    if (this.#memoryQueue) this.#queue.clear(); // declared: the queue dies with the process
    for (const [sessionDbId, pending] of this.#queue) if (pending > 0) this.#mustResume.set(sessionDbId, pending);
  }

  /** The target created a session, pinned to `pinnedText`: from a route (`recovered` false) or resumed at start-up. */
  created(sessionDbId: number, pinnedText: string, nowMs: number, recovered: boolean): void {
    if (this.#sessions.has(sessionDbId)) return; // removals-reported names a second creation
    if (recovered) {
      if (!this.#mustResume.delete(sessionDbId) && this.follows('sessions')) {
        this.#diverge(sessionDbId, `after the worker restart the target resumed session ${sessionDbId}, which had no pending work; the model resumes only sessions with pending messages`);
      }
    } else if (this.#sessions.size >= this.#settings.maxActiveSessions) {
      if (this.#roomMade > 0) this.#roomMade -= 1;
      else if (this.follows('sessions')) {
        const idlest = firstValue(this.#idle);
        this.#diverge(
          sessionDbId,
          idlest
            ? `the target created session ${sessionDbId} with ${this.#sessions.size} sessions in memory (the cap) without evicting one; the model evicts session ${idlest.sessionDbId}, idle since ${formatSimTime(idlest.idleSinceMs!)}`
            : `the target created session ${sessionDbId} with ${this.#sessions.size} sessions in memory (the cap), all busy; the model refuses it`,
        );
      }
    }
    const budget = Math.floor(this.#settings.maxHistoryTokens / 2);
    const session: ModelSession = { sessionDbId, pinned: fitted({ role: 'user', content: pinnedText }, budget), messages: [], seen: 1, idleSinceMs: nowMs, diverged: false, touches: 0 };
    this.#sessions.set(sessionDbId, session);
    this.#idle.set(sessionDbId, session);
    for (const message of this.#early.get(sessionDbId) ?? []) this.#append(session, message);
    this.#early.delete(sessionDbId);
  }

  /** The target refused a session at the cap. */
  refused(): void {
    if (!this.follows('sessions')) return;
    const idlest = firstValue(this.#idle);
    if (this.#sessions.size < this.#settings.maxActiveSessions) {
      this.#diverge(undefined, `the target refused a session with ${this.#sessions.size} of ${this.#settings.maxActiveSessions} sessions in memory; the model has room for it`);
    } else if (idlest) {
      this.#diverge(undefined, `the target refused a session at the cap while session ${idlest.sessionDbId} was idle (since ${formatSimTime(idlest.idleSinceMs!)}); the model evicts it and lets the new one in`);
    }
  }

  /** A prompt for a session already in memory: the target appends it to the history. */
  prompted(sessionDbId: number, text: string): void {
    const session = this.#sessions.get(sessionDbId);
    if (session) this.#append(session, { role: 'user', content: text });
  }

  /** The agent appended a message through a live generator context (not one the target must ignore). */
  appended(sessionDbId: number, message: ConversationMessage): void {
    const session = this.#sessions.get(sessionDbId);
    if (session) return this.#append(session, message);
    let early = this.#early.get(sessionDbId);
    if (!early) this.#early.set(sessionDbId, (early = []));
    early.push(message);
  }

  enqueued(sessionDbId: number): void {
    this.#queue.set(sessionDbId, (this.#queue.get(sessionDbId) ?? 0) + 1);
  }

  acknowledged(sessionDbId: number): void {
    const left = (this.#queue.get(sessionDbId) ?? 0) - 1;
    if (left > 0) this.#queue.set(sessionDbId, left);
    else this.#queue.delete(sessionDbId);
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
    this.#deleting.delete(sessionDbId);
    // Its pending work goes with it (a delete drops it; an eviction or expiry of a busy session is judged above).
    this.#queue.delete(sessionDbId);
    this.#forget(sessionDbId);
  }

  /** A session the event touched, as the ground truth sees it: busy (running, processing, pending) or idle. */
  settled(sessionDbId: number, busy: boolean, nowMs: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    // Every touch is activity: an idle session touched again is idle from now (the checker's rule too).
    this.#idle.delete(sessionDbId);
    session.idleSinceMs = busy ? undefined : nowMs;
    if (!busy) this.#idle.set(sessionDbId, session);
  }

  // ---- comparisons --------------------------------------------------------------------------

  /**
   * Compares one touched session with the target's view of it. `history` reads a copy of the
   * target's history (only when the full comparison is due).
   */
  compare(sessionDbId: number, view: TargetSessionView | undefined, history: () => readonly ConversationMessage[] | undefined): void {
    const session = this.#sessions.get(sessionDbId);
    if (!session || session.diverged) return;
    if (!view) return; // removed without a report: the count comparison and removals-reported name it
    if (this.follows('history')) {
      const expected = this.#history(session);
      const tokens = sumTokens(expected);
      const first = expected[0]!;
      const firstAgrees = view.firstMessage !== undefined && view.firstMessage.role === first.role && view.firstMessage.content === first.content;
      if (view.historyMessages !== expected.length || view.historyTokens !== tokens || !firstAgrees) {
        const parts = [
          view.historyMessages !== expected.length ? `keeps ${view.historyMessages} messages` : `keeps ${view.historyMessages} messages too`,
          view.historyTokens !== tokens ? `counts ${view.historyTokens} tokens` : '',
          !firstAgrees ? `starts with ${describeMessage(view.firstMessage, session)}` : '',
        ].filter(Boolean);
        return this.#diverge(
          sessionDbId,
          `after the ${ordinal(session.seen)} message of session ${sessionDbId}, the model keeps ${plural(expected.length, 'message')} / ${tokens} tokens (first: ${describeMessage(first, session)}); the target ${parts.join(', ')}`,
        );
      }
      session.touches += 1;
      if (session.touches <= MODEL_FULL_CHECKS_EVERY_TIME || session.touches % MODEL_FULL_CHECK_STRIDE === 0) {
        const actual = history();
        if (actual) {
          const at = expected.findIndex((message, index) => actual[index]?.role !== message.role || actual[index]?.content !== message.content);
          if (at >= 0) {
            return this.#diverge(
              sessionDbId,
              `after the ${ordinal(session.seen)} message of session ${sessionDbId}, the model's history and the target's differ at message ${at + 1} of ${expected.length}: the model keeps ${describeMessage(expected[at], session)}, the target ${describeMessage(actual[at], session)}`,
            );
          }
        }
      }
    }
    if (this.follows('queue')) {
      const pending = this.#queue.get(sessionDbId) ?? 0;
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
    for (const sessionDbId of this.#deleting) {
      const session = this.#sessions.get(sessionDbId);
      if (session && !session.diverged && this.follows('sessions')) this.#diverge(sessionDbId, `the delete route was called for session ${sessionDbId}; the model removes it, the target still holds it`);
    }
    this.#deleting.clear();
    this.#roomMade = 0;
    this.#early.clear();
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
    session.messages.push(fitted(message, maxHistoryTokens - estimateTokens(session.pinned.content)));
    let dropped = 0;
    while (session.messages.length > 0 && (1 + session.messages.length > maxHistoryMessages || sumTokens(this.#history(session)) > maxHistoryTokens)) {
      session.messages.shift();
      dropped += 1;
    }
    if (dropped > 0) while (session.messages[0]?.role === 'assistant') session.messages.shift();
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
    const idlest = firstValue(this.#idle)!;
    // Ties (two sessions idle since the same moment) may go either way.
    if (idlest.idleSinceMs! < session.idleSinceMs) {
      this.#diverge(id, `the target evicted session ${id} (idle since ${formatSimTime(session.idleSinceMs)}); the model evicts session ${idlest.sessionDbId}, idle since ${formatSimTime(idlest.idleSinceMs!)}`);
    }
  }

  /** The session idle longest must be gone by its deadline plus the slack; reported once. */
  #checkIdleHead(nowMs: number): void {
    const head = firstValue(this.#idle);
    if (!head || head.idleSinceMs === undefined) return;
    const dueMs = head.idleSinceMs + this.#settings.ttlMs;
    if (nowMs <= dueMs + MODEL_EXPIRY_SLACK_MS) return;
    this.#diverge(head.sessionDbId, `session ${head.sessionDbId} has been idle since ${formatSimTime(head.idleSinceMs)}: the model expires it at ${formatSimTime(dueMs)} (TTL ${formatMs(this.#settings.ttlMs)}); the target still holds it at ${formatSimTime(nowMs)}, ${formatMs(nowMs - dueMs)} late`);
  }

  #diverge(sessionDbId: number | undefined, detail: string): void {
    this.#found.push(sessionDbId === undefined ? { detail } : { sessionDbId, detail });
    if (sessionDbId === undefined) return;
    const session = this.#sessions.get(sessionDbId);
    if (!session) return;
    session.diverged = true;
    this.#idle.delete(sessionDbId); // not judged again until it leaves memory
    this.#mustResume.delete(sessionDbId);
  }

  #forget(sessionDbId: number): void {
    this.#sessions.delete(sessionDbId);
    this.#idle.delete(sessionDbId);
  }
}

/** A message cut to `roomTokens`, keeping its beginning (the reference's rule for one message larger than its room). */
function fitted(message: ConversationMessage, roomTokens: number): ConversationMessage {
  if (estimateTokens(message.content) <= roomTokens) return message;
  return { role: message.role, content: message.content.slice(0, Math.max(0, roomTokens) * CHARS_PER_TOKEN) };
}

function sumTokens(messages: readonly ConversationMessage[]): number {
  let tokens = 0;
  for (const message of messages) tokens += estimateTokens(message.content);
  return tokens;
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

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function firstValue<V>(map: Map<number, V>): V | undefined {
  for (const value of map.values()) return value;
  return undefined;
}
