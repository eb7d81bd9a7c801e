/**
 * All randomness in a run comes from here, and all of it from the one seed.
 *
 * A run draws from named streams (`traffic`, `agent`, `faults`, …). Each stream's generator state is
 * derived from sha256(seed, name), so streams are independent: turning on a fault draws from
 * `faults` only, and the traffic stays byte for byte the same. The generator is pure-rand's
 * xoroshiro128+ (fast, 128-bit state, the one fast-check uses).
 */
import { createHash } from 'node:crypto';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

type Generator = ReturnType<typeof xoroshiro128plusFromState>;

const TWO_POW_32 = 4_294_967_296;

export class Rng {
  readonly #generator: Generator;

  private constructor(generator: Generator) {
    this.#generator = generator;
  }

  /** The stream `name` of run `seed`. The same pair always gives the same sequence. */
  static stream(seed: number, name: string): Rng {
    const digest = createHash('sha256').update(`leaksim/${seed}/${name}`).digest();
    const state: number[] = [digest.readInt32LE(0), digest.readInt32LE(4), digest.readInt32LE(8), digest.readInt32LE(12)];
    if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = 1; // xoroshiro's one forbidden state
    return new Rng(xoroshiro128plusFromState(state));
  }

  /** A uniform float in [0, 1) with 32 bits of precision: plenty for traffic. */
  float(): number {
    return (this.#generator.next() >>> 0) / TWO_POW_32;
  }

  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return probability > 0 && this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** Exponentially distributed with the given mean: gaps between independent events. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /** A count spread uniformly over [mean/2, 3·mean/2], at least `min`: bounded and easy to reason about. */
  around(mean: number, min = 0): number {
    return Math.max(min, Math.round(mean * (0.5 + this.float())));
  }

  /** Picks a key of `weights` with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const { keys, total } = weightTable(weights);
    let draw = this.float() * total;
    for (const key of keys) {
      draw -= weights[key];
      if (draw < 0) return key;
    }
    return keys[keys.length - 1]!;
  }
}

/**
 * The keys and total of a weights object, computed once per object: the traffic model draws a
 * weighted tool for every tool use, and listing the keys each time was 1.6 % of the heavy month.
 * Weights objects are frozen constants or a scenario's, read-only for the run.
 */
const weightTables = new WeakMap<object, { readonly keys: readonly string[]; readonly total: number }>();

function weightTable<K extends string>(weights: Readonly<Record<K, number>>): { readonly keys: readonly K[]; readonly total: number } {
  let table = weightTables.get(weights);
  if (!table) {
    const keys = Object.keys(weights) as K[];
    let total = 0;
    for (const key of keys) total += weights[key];
    table = { keys, total };
    weightTables.set(weights, table);
  }
  return table as { readonly keys: readonly K[]; readonly total: number };
}
