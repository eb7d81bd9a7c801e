/**
 * The model's deadline maps (sim/check/ordered-map.ts) must behave as the Maps they replaced,
 * operation for operation: the model's verdicts depend on which entry is first. Checked against
 * a Map on random operations, including the model's own way of reading: the first entry, deleted
 * while it is due.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderedMap } from '../../sim/check/ordered-map.ts';

const KEYS = 8;

type Operation = { kind: 'set' | 'setLast'; key: number; value: number } | { kind: 'delete'; key: number } | { kind: 'drainWhile'; below: number } | { kind: 'clear' };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constantFrom('set' as const, 'setLast' as const), key: fc.nat(KEYS - 1), value: fc.nat(100) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(KEYS - 1) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('drainWhile' as const), below: fc.nat(100) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'clear' as const }), weight: 1 },
);

/** The Map's first entry as OrderedMap.first gives it. */
function firstOf(model: Map<number, number>): { key: number; value: number } | undefined {
  const entry = model.entries().next().value;
  return entry && { key: entry[0], value: entry[1] };
}

describe('OrderedMap', () => {
  it('answers as an insertion-ordered Map does (set keeps a key in its place, setLast moves it to the back; the first entry is the oldest still in)', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        const map = new OrderedMap<number, number>();
        const model = new Map<number, number>();
        for (const step of operations) {
          if (step.kind === 'set') {
            map.set(step.key, step.value);
            model.set(step.key, step.value);
          } else if (step.kind === 'setLast') {
            map.setLast(step.key, step.value);
            model.delete(step.key);
            model.set(step.key, step.value);
          } else if (step.kind === 'delete') {
            expect(map.delete(step.key)).toBe(model.delete(step.key));
          } else if (step.kind === 'clear') {
            map.clear();
            model.clear();
          } else if (step.kind === 'drainWhile') {
            // The model's use: read the first entry, delete it while it is due, stop at the first that is not.
            for (let head = map.first(); head && head.value < step.below; head = map.first()) {
              expect({ key: head.key, value: head.value }).toEqual(firstOf(model));
              map.delete(head.key);
              model.delete(head.key);
            }
          }
          const head = map.first();
          expect(head && { key: head.key, value: head.value }).toEqual(firstOf(model));
        }
        // What is left, in order, taken from the front.
        for (let head = map.first(); head; head = map.first()) {
          expect({ key: head.key, value: head.value }).toEqual(firstOf(model));
          map.delete(head.key);
          model.delete(head.key);
        }
        expect(model.size).toBe(0);
      }),
    );
  });
});
