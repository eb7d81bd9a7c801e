import { describe, expect, it } from 'vitest';
import { PendingStore } from '../../src/pending-store.ts';

describe('PendingStore', () => {
  it('claims in order, holds claimed messages in flight until acknowledged', () => {
    const store = new PendingStore();
    const { sessionDbId } = store.recordPrompt('a', 'p', 'hello');
    store.enqueue(sessionDbId, 'observation', 'one');
    store.enqueue(sessionDbId, 'summarize', 'two');
    const first = store.claim(sessionDbId)!;
    expect(first.text).toBe('one');
    expect(store.pendingCount(sessionDbId)).toBe(2);
    expect(store.queuedCount(sessionDbId)).toBe(1);
    expect(store.ack(first)).toBe(true);
    expect(store.ack(first)).toBe(false);
    expect(store.accounting()).toMatchObject({ enqueued: 2, processed: 1, queued: 1, inFlight: 0 });
  });

  it('puts in-flight work back at the front on a crash, oldest first', () => {
    const store = new PendingStore();
    const { sessionDbId } = store.recordPrompt('a', 'p', 'hello');
    for (const text of ['one', 'two', 'three']) store.enqueue(sessionDbId, 'observation', text);
    store.claim(sessionDbId);
    store.claim(sessionDbId);
    expect(store.requeueInFlight(sessionDbId)).toBe(2);
    expect([store.claim(sessionDbId)!.text, store.claim(sessionDbId)!.text, store.claim(sessionDbId)!.text]).toEqual(['one', 'two', 'three']);
    expect(store.unaccounted()).toBe(0);
  });

  it('balances: enqueued = processed + pending + dropped by delete; lost work shows as unaccounted', () => {
    const store = new PendingStore();
    const a = store.recordPrompt('a', 'p', 'x').sessionDbId;
    const b = store.recordPrompt('b', 'p', 'x').sessionDbId;
    const c = store.recordPrompt('c', 'p', 'x').sessionDbId;
    for (const id of [a, a, b, b, c, c]) store.enqueue(id, 'observation', 't');
    store.ack(store.claim(a)!);
    store.claim(b);
    expect(store.dropSession(b, true)).toBe(2);
    expect(store.unaccounted()).toBe(0);
    expect(store.accounting()).toMatchObject({ enqueued: 6, processed: 1, queued: 3, inFlight: 0, droppedByDelete: 2, lost: 0 });
    store.claim(c);
    expect(store.forgetInFlight(c)).toBe(1);
    expect(store.unaccounted()).toBe(1);
    expect(store.dropSession(a, false)).toBe(1);
    expect(store.accounting().droppedByEviction).toBe(1);
  });

  it('recovers everything in flight after a restart and says which sessions have work', () => {
    const store = new PendingStore();
    const a = store.recordPrompt('a', 'p', 'x').sessionDbId;
    const b = store.recordPrompt('b', 'p', 'x').sessionDbId;
    store.enqueue(b, 'observation', 't');
    store.enqueue(a, 'observation', 't');
    store.claim(a);
    expect(store.recoverInFlight()).toEqual([a, b]);
    expect(store.accounting().inFlight).toBe(0);
  });

  it('keeps a record per content session, counting its prompts', () => {
    const store = new PendingStore();
    store.recordPrompt('a', 'p', 'first');
    const record = store.recordPrompt('a', 'p', 'second');
    expect(record).toMatchObject({ sessionDbId: 1, promptCount: 2, userPrompt: 'second' });
    expect(store.lookup('a')).toBe(record);
    expect(store.recordCount()).toBe(1);
  });

  it('frees an empty queue, so memory follows pending work', () => {
    const store = new PendingStore();
    const a = store.recordPrompt('a', 'p', 'x').sessionDbId;
    store.enqueue(a, 'observation', 't');
    store.ack(store.claim(a)!);
    expect(store.claim(a)).toBeUndefined();
    expect(store.pendingCount(a)).toBe(0);
  });
});
