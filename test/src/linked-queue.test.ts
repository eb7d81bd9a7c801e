/**
 * The reference's deadline queues (src/linked-queue.ts) keep the order an insertion-ordered Map
 * would, operation for operation: the reference's behaviour, and so every pinned trace hash,
 * depends on it. Checked against a Map as the model, on random operations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkedQueue, QueueLink } from '../../src/linked-queue.ts';

const KEYS = 8;

type Operation = { kind: 'append' | 'delete' | 'moveToBack'; key: number } | { kind: 'drainHead' };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('append' as const, 'delete' as const, 'moveToBack' as const), key: fc.nat(KEYS - 1) }),
  fc.constant({ kind: 'drainHead' as const }),
);

describe('LinkedQueue', () => {
  it('orders its members as an insertion-ordered Map does (append is Map.set, moveToBack is delete + set)', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        const queue = new LinkedQueue<number>();
        const links = Array.from({ length: KEYS }, (_, key) => new QueueLink(key));
        const model = new Map<number, number>();
        for (const step of operations) {
          if (step.kind === 'append') {
            queue.append(links[step.key]!);
            model.set(step.key, step.key);
          } else if (step.kind === 'delete') {
            expect(queue.delete(links[step.key]!)).toBe(model.delete(step.key));
          } else if (step.kind === 'moveToBack') {
            queue.moveToBack(links[step.key]!);
            model.delete(step.key);
            model.set(step.key, step.key);
          } else {
            const head = queue.first();
            const modelHead = model.keys().next().value;
            expect(head).toBe(modelHead);
            if (head !== undefined) queue.delete(links[head]!);
            if (modelHead !== undefined) model.delete(modelHead);
          }
          expect(queue.size).toBe(model.size);
          expect(queue.first()).toBe(model.keys().next().value);
          for (const [key] of links.entries()) expect(queue.has(links[key]!)).toBe(model.has(key));
        }
      }),
    );
  });

  it('refuses a link that is already in another queue', () => {
    const link = new QueueLink('a');
    new LinkedQueue<string>().append(link);
    expect(() => new LinkedQueue<string>().append(link)).toThrow('already in another queue');
  });
});
