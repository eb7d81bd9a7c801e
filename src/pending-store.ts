/**
 * The persisted side of the worker: what claude-mem keeps in SQLite and what therefore survives a
 * worker restart. It holds the session records (content session id → database id, prompt count)
 * and each session's pending message queue.
 *
 * Queue semantics are claim-and-delete with an in-flight slot: `claim` takes the oldest queued
 * message out of the queue (no other generator can get it) and holds it in flight until `ack`.
 * A generator that crashes or is aborted gets its in-flight messages put back at the front of
 * the queue (`requeueInFlight`), and a restarted worker does the same for everything that was in
 * flight when it died (`recoverInFlight`). 8.5.7 deleted on claim, so a crash lost the message.
 *
 * Accounting, checkable at any moment:
 *   enqueued = processed + pending (queued + in flight) + dropped by an explicit delete + lost
 * where `lost` is only ever non-zero for a target that discards claimed work (`forget`), and
 * `droppedByEviction` counts messages dropped because a busy session was evicted or expired.
 * Both of those are bugs that the `no-lost-message` invariant reports.
 */

export type MessageKind = 'observation' | 'summarize';

export interface PendingMessage {
  /** Store-wide sequence number, in enqueue order. */
  readonly id: number;
  readonly sessionDbId: number;
  readonly kind: MessageKind;
  readonly text: string;
  readonly toolName: string | undefined;
}

export interface SessionRecord {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  /** The latest user prompt: a session re-created in memory is pinned to it. */
  userPrompt: string;
  /** The first user prompt ever recorded: what a target that declares `pinnedPrompt: 'first'` pins (claude-mem does). */
  readonly firstPrompt: string;
  promptCount: number;
}

export interface QueueAccounting {
  readonly enqueued: number;
  readonly processed: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly droppedByDelete: number;
  readonly droppedByEviction: number;
  readonly lost: number;
  /** Dropped at a worker restart by a target whose queue lives in memory by design (`queue: 'memory'`). */
  readonly lostAtRestart: number;
}

class SessionQueue {
  /** Queued messages, read from `head`; compacted like the history deque. */
  items: (PendingMessage | undefined)[] = [];
  head = 0;
  readonly inFlight = new Map<number, PendingMessage>();

  get queuedCount(): number {
    return this.items.length - this.head;
  }
}

export class PendingStore {
  readonly #records = new Map<string, SessionRecord>();
  readonly #recordsById = new Map<number, SessionRecord>();
  readonly #queues = new Map<number, SessionQueue>();
  #nextSessionDbId = 1;
  #nextMessageId = 1;
  #enqueued = 0;
  #processed = 0;
  #queued = 0;
  #inFlight = 0;
  #droppedByDelete = 0;
  #droppedByEviction = 0;
  #lost = 0;
  #lostAtRestart = 0;

  /** Records a user prompt (the `/api/sessions/init` route): creates the record on first sight. */
  recordPrompt(contentSessionId: string, project: string, userPrompt: string): SessionRecord {
    let record = this.#records.get(contentSessionId);
    if (!record) {
      record = { sessionDbId: this.#nextSessionDbId++, contentSessionId, project, userPrompt, firstPrompt: userPrompt, promptCount: 0 };
      this.#records.set(contentSessionId, record);
      this.#recordsById.set(record.sessionDbId, record);
    }
    record.userPrompt = userPrompt;
    record.promptCount += 1;
    return record;
  }

  lookup(contentSessionId: string): SessionRecord | undefined {
    return this.#records.get(contentSessionId);
  }

  recordById(sessionDbId: number): SessionRecord | undefined {
    return this.#recordsById.get(sessionDbId);
  }

  recordCount(): number {
    return this.#records.size;
  }

  enqueue(sessionDbId: number, kind: MessageKind, text: string, toolName?: string): PendingMessage {
    const message: PendingMessage = { id: this.#nextMessageId++, sessionDbId, kind, text, toolName };
    this.#queue(sessionDbId).items.push(message);
    this.#enqueued += 1;
    this.#queued += 1;
    return message;
  }

  /** Takes the oldest queued message of a session and holds it in flight until `ack`. */
  claim(sessionDbId: number): PendingMessage | undefined {
    const queue = this.#queues.get(sessionDbId);
    if (!queue || queue.queuedCount === 0) return undefined;
    const message = queue.items[queue.head]!;
    queue.items[queue.head] = undefined;
    queue.head += 1;
    if (queue.head >= 32 && queue.head * 2 >= queue.items.length) {
      queue.items.splice(0, queue.head);
      queue.head = 0;
    }
    queue.inFlight.set(message.id, message);
    this.#queued -= 1;
    this.#inFlight += 1;
    return message;
  }

  /** Marks an in-flight message processed. Returns false when it was not in flight (already requeued or dropped). */
  ack(message: PendingMessage): boolean {
    const queue = this.#queues.get(message.sessionDbId);
    if (!queue || !queue.inFlight.delete(message.id)) return false;
    this.#inFlight -= 1;
    this.#processed += 1;
    this.#release(message.sessionDbId, queue);
    return true;
  }

  /** Puts a session's in-flight messages back at the front of its queue, oldest first. */
  requeueInFlight(sessionDbId: number): number {
    const queue = this.#queues.get(sessionDbId);
    if (!queue || queue.inFlight.size === 0) return 0;
    const returned = [...queue.inFlight.values()].sort((a, b) => a.id - b.id);
    queue.inFlight.clear();
    queue.items.splice(queue.head, 0, ...returned);
    this.#inFlight -= returned.length;
    this.#queued += returned.length;
    return returned.length;
  }

  /**
   * Puts a session's in-flight messages back at the BACK of its queue, behind younger work: what a
   * target does that re-queues returned work as if it were new. Only flawed targets call this; the
   * `requeued-first` invariant reports it.
   */
  requeueInFlightAtBack(sessionDbId: number): number {
    const queue = this.#queues.get(sessionDbId);
    if (!queue || queue.inFlight.size === 0) return 0;
    const returned = [...queue.inFlight.values()].sort((a, b) => a.id - b.id);
    queue.inFlight.clear();
    queue.items.push(...returned);
    this.#inFlight -= returned.length;
    this.#queued += returned.length;
    return returned.length;
  }

  /** Whether message `messageId` of a session is still pending (queued or in flight). O(queue length). */
  isPending(sessionDbId: number, messageId: number): boolean {
    const queue = this.#queues.get(sessionDbId);
    if (!queue) return false;
    if (queue.inFlight.has(messageId)) return true;
    for (let index = queue.head; index < queue.items.length; index += 1) if (queue.items[index]?.id === messageId) return true;
    return false;
  }

  /**
   * Discards a session's in-flight messages without processing them: what claim-and-delete does
   * when the generator holding them dies. Only flawed targets call this; it is counted as lost.
   */
  forgetInFlight(sessionDbId: number): number {
    const queue = this.#queues.get(sessionDbId);
    if (!queue || queue.inFlight.size === 0) return 0;
    const count = queue.inFlight.size;
    queue.inFlight.clear();
    this.#inFlight -= count;
    this.#lost += count;
    this.#release(sessionDbId, queue);
    return count;
  }

  /**
   * An explicit delete drops a session's in-flight messages (claude-mem 8.5.x deleted them from
   * its queue when they were claimed, so the delete route's abort ends them): dropped by delete.
   */
  dropInFlight(sessionDbId: number): number {
    const queue = this.#queues.get(sessionDbId);
    if (!queue || queue.inFlight.size === 0) return 0;
    const count = queue.inFlight.size;
    queue.inFlight.clear();
    this.#inFlight -= count;
    this.#droppedByDelete += count;
    this.#release(sessionDbId, queue);
    return count;
  }

  /** After a worker restart: every message left in flight goes back to its queue. Returns the sessions with pending work, in id order. */
  recoverInFlight(): number[] {
    const pending: number[] = [];
    for (const [sessionDbId, queue] of this.#queues) {
      this.requeueInFlight(sessionDbId);
      if (queue.queuedCount > 0) pending.push(sessionDbId);
    }
    return pending.sort((a, b) => a - b);
  }

  /** After a restart of a claim-and-delete worker: everything that was in flight is gone. */
  forgetAllInFlight(): number[] {
    const pending: number[] = [];
    for (const [sessionDbId, queue] of [...this.#queues]) {
      this.forgetInFlight(sessionDbId);
      if (queue.queuedCount > 0) pending.push(sessionDbId);
    }
    return pending.sort((a, b) => a - b);
  }

  /**
   * A worker restart of a target whose queue lives in memory (`queue: 'memory'`): every queued and
   * in-flight message dies with the process. Counted apart, as `lostAtRestart`: a cost the target
   * chose, not a loss the checker judges. Returns how many were dropped.
   */
  dropAllAtRestart(): number {
    const dropped = this.#queued + this.#inFlight;
    this.#queues.clear();
    this.#queued = 0;
    this.#inFlight = 0;
    this.#lostAtRestart += dropped;
    return dropped;
  }

  /**
   * Drops everything pending for a session. An explicit delete (the delete and complete routes)
   * is allowed to; eviction or expiry of a session that still had work is a bug, counted apart.
   */
  dropSession(sessionDbId: number, explicit: boolean): number {
    const queue = this.#queues.get(sessionDbId);
    if (!queue) return 0;
    const queued = queue.queuedCount;
    const inFlight = queue.inFlight.size;
    this.#queued -= queued;
    this.#inFlight -= inFlight;
    if (explicit) this.#droppedByDelete += queued + inFlight;
    else this.#droppedByEviction += queued + inFlight;
    this.#queues.delete(sessionDbId);
    return queued + inFlight;
  }

  pendingCount(sessionDbId: number): number {
    const queue = this.#queues.get(sessionDbId);
    return queue ? queue.queuedCount + queue.inFlight.size : 0;
  }

  queuedCount(sessionDbId: number): number {
    return this.#queues.get(sessionDbId)?.queuedCount ?? 0;
  }

  /**
   * The accounting identity, checked without building an object (the checker asks after every
   * event): enqueued − (processed + queued + in flight + dropped by delete). Zero unless lost.
   */
  unaccounted(): number {
    return this.#enqueued - (this.#processed + this.#queued + this.#inFlight + this.#droppedByDelete + this.#lostAtRestart);
  }

  get enqueuedCount(): number {
    return this.#enqueued;
  }

  get processedCount(): number {
    return this.#processed;
  }

  accounting(): QueueAccounting {
    return {
      enqueued: this.#enqueued,
      processed: this.#processed,
      queued: this.#queued,
      inFlight: this.#inFlight,
      droppedByDelete: this.#droppedByDelete,
      droppedByEviction: this.#droppedByEviction,
      lost: this.#lost,
      lostAtRestart: this.#lostAtRestart,
    };
  }

  #queue(sessionDbId: number): SessionQueue {
    let queue = this.#queues.get(sessionDbId);
    if (!queue) {
      queue = new SessionQueue();
      this.#queues.set(sessionDbId, queue);
    }
    return queue;
  }

  /** An empty queue is removed so that the store's memory follows pending work, not history. */
  #release(sessionDbId: number, queue: SessionQueue): void {
    if (queue.queuedCount === 0 && queue.inFlight.size === 0) this.#queues.delete(sessionDbId);
  }
}
