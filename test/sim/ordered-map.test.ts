/**
 * The model's deadline maps (sim/check/ordered-map.ts) must behave as the Maps they replaced,
 * operation for operation: the model's verdicts depend on which entry is first. Checked against
 * a Map on random operations, iteration that deletes as it reads included.
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
            // The model's use: read from the head, delete what is read, stop at the first that stays.
            for (const [key, value] of map) {
              if (value >= step.below) break;
              map.delete(key);
            }
            for (const [key, value] of model) {
              if (value >= step.below) break;
              model.delete(key);
            }
          }
          expect([...map]).toEqual([...model]);
          expect(map.size).toBe(model.size);
          const first = map.first();
          expect(first && [first.key, first.value]).toEqual(model.entries().next().value);
          for (let key = 0; key < KEYS; key += 1) {
            expect(map.has(key)).toBe(model.has(key));
            expect(map.get(key)).toBe(model.get(key));
          }
        }
      }),
    );
  });
});
