/**
 * A Map in insertion order whose first entry is O(1) to read whatever was deleted before it: the
 * model's deadline queues (idle sessions, silent generators, restarts due) are served from their
 * head after many deletions at the front, which a V8 Map answers by stepping over every deleted
 * entry's hole (see src/linked-queue.ts). Keys find their link through a Map (hash lookups never
 * step over holes); order is the linked queue's.
 *
 * Only what the model uses: get, has, set (a key already in keeps its place, as Map.set does),
 * setLast (delete then set), delete, first, clear, size, and iteration in order.
 */
import { LinkedQueue, QueueLink } from '../../src/linked-queue.ts';

interface Entry<K, V> {
  readonly key: K;
  value: V;
}

export class OrderedMap<K, V> {
  readonly #links = new Map<K, QueueLink<Entry<K, V>>>();
  readonly #order = new LinkedQueue<Entry<K, V>>();

  get size(): number {
    return this.#links.size;
  }

  has(key: K): boolean {
    return this.#links.has(key);
  }

  get(key: K): V | undefined {
    return this.#links.get(key)?.value.value;
  }

  set(key: K, value: V): this {
    const link = this.#links.get(key);
    if (link) link.value.value = value;
    else {
      const added = new QueueLink<Entry<K, V>>({ key, value });
      this.#links.set(key, added);
      this.#order.append(added);
    }
    return this;
  }

  /** Sets the value and moves the key to the back, as delete then set would, without allocating when the key is in. */
  setLast(key: K, value: V): this {
    const link = this.#links.get(key);
    if (!link) return this.set(key, value);
    link.value.value = value;
    this.#order.moveToBack(link);
    return this;
  }

  delete(key: K): boolean {
    const link = this.#links.get(key);
    if (!link) return false;
    this.#links.delete(key);
    this.#order.delete(link);
    return true;
  }

  /** The entry set first among those still in, or undefined when empty. */
  first(): Entry<K, V> | undefined {
    return this.#order.first();
  }

  clear(): void {
    this.#links.clear();
    this.#order.clear();
  }

  /** [key, value] in insertion order; deleting the entry just read is allowed. */
  *[Symbol.iterator](): IterableIterator<[K, V]> {
    for (let entry = this.#order.first(); entry; ) {
      const link = this.#links.get(entry.key)!;
      const next = link.next?.value;
      yield [entry.key, entry.value];
      entry = next;
    }
  }
}
