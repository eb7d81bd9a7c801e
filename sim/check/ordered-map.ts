/**
 * A Map in insertion order whose first entry is O(1) to read whatever was deleted before it: the
 * model's deadline queues (idle sessions, silent generators, restarts due) are served from their
 * head after many deletions at the front, which a V8 Map answers by stepping over every deleted
 * entry's hole (see src/linked-queue.ts). Keys find their link through a Map (hash lookups never
 * step over holes); order is the linked queue's.
 *
 * Only what the model uses: set (a key already in keeps its place, as Map.set does), setLast
 * (delete then set), delete, first and clear.
 */
import { LinkedQueue, QueueLink } from '../../src/linked-queue.ts';

interface Entry<K, V> {
  readonly key: K;
  value: V;
}

export class OrderedMap<K, V> {
  readonly #links = new Map<K, QueueLink<Entry<K, V>>>();
  readonly #order = new LinkedQueue<Entry<K, V>>();

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
}
