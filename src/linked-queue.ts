/**
 * An insertion-ordered queue with O(1) append, delete and head, whatever was deleted before: an
 * intrusive doubly linked list. Each member brings its own link (one per queue it can be in), so
 * the queue allocates nothing per operation.
 *
 * Why not an insertion-ordered Map, which offers the same three operations: V8 leaves a deleted
 * Map entry as a hole in its table until the table is rebuilt, and iteration steps over holes, so
 * reading the first value after many deletions at the front (a deadline queue served from its
 * head: sessions expiring, generators ending in the order they started) costs O(holes), up to
 * O(entries held): 100 µs per read with 60,000 holes, measured on Node 20.
 */
export class QueueLink<T> {
  prev: QueueLink<T> | undefined = undefined;
  next: QueueLink<T> | undefined = undefined;
  /** The queue this link is in, if any: a link is in at most one queue. */
  queue: LinkedQueue<T> | undefined = undefined;

  constructor(public value: T) {}
}

export class LinkedQueue<T> {
  #head: QueueLink<T> | undefined = undefined;
  #tail: QueueLink<T> | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(link: QueueLink<T>): boolean {
    return link.queue === this;
  }

  /** The value at the head (the earliest appended still in), or undefined when empty. */
  first(): T | undefined {
    return this.#head?.value;
  }

  /** Appends at the back, unless already in: then it keeps its place (as Map.set does). */
  append(link: QueueLink<T>): void {
    if (link.queue === this) return;
    if (link.queue) throw new Error('a queue link is already in another queue');
    link.queue = this;
    link.prev = this.#tail;
    link.next = undefined;
    if (this.#tail) this.#tail.next = link;
    else this.#head = link;
    this.#tail = link;
    this.#size += 1;
  }

  /** Takes the link out; false when it was not in this queue. */
  delete(link: QueueLink<T>): boolean {
    if (link.queue !== this) return false;
    if (link.prev) link.prev.next = link.next;
    else this.#head = link.next;
    if (link.next) link.next.prev = link.prev;
    else this.#tail = link.prev;
    link.prev = undefined;
    link.next = undefined;
    link.queue = undefined;
    this.#size -= 1;
    return true;
  }

  /** Takes every link out: O(size). */
  clear(): void {
    while (this.#head) this.delete(this.#head);
  }

  /** Moves the link to the back (appends it when it was not in). */
  moveToBack(link: QueueLink<T>): void {
    this.delete(link);
    this.append(link);
  }
}
