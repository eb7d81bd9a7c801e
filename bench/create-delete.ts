/**
 * The reference's create + delete against the number of sessions held: the O(1) claim of
 * src/session-manager.ts, measured. A manager holds `held` idle sessions (each made by the init
 * route, its generator run to the end), then creates one more session and deletes it, again and
 * again; the cost of one create + delete is compared at 100 and at 100,000 sessions held, side
 * by side and interleaved, under the simulator's fake clock held still.
 *
 * The leaky twin beside it, for orientation: it holds one listener per session on the worker's
 * lifetime signal, as 8.5.7 did, and Node's EventTarget walks the whole list on every add and
 * remove. Fewer operations and 10,000 sessions held for it, or the bench would wait minutes.
 */
import type { Agent, GeneratorContext, SynchronousTargetFactory } from '../src/contract.ts';
import { leakyTarget } from '../src/baseline/leaky-session-manager.ts';
import { PendingStore } from '../src/pending-store.ts';
import { referenceTarget } from '../src/session-manager.ts';
import { DEFAULT_SETTINGS } from '../src/settings.ts';
import { settle, SimClock } from '../sim/engine/clock.ts';
import { ORIGIN_EPOCH_MS } from '../sim/runs/run.ts';

export const HELD_FEW = 100;
export const HELD_MANY = 100_000;
/** The leaky twin's many: at 100,000 its fill alone (5 billion listener-list steps) would take minutes. */
export const TWIN_HELD_MANY = 10_000;

/** An agent whose generator answers every claimed message at once and ends. */
const instantAgent: Agent = {
  run(context: GeneratorContext): Promise<void> {
    for (let message = context.claim(); message; message = context.claim()) context.ack(message);
    return Promise.resolve();
  },
};

/** Nanoseconds per create + delete with `held` idle sessions held, over `operations` pairs. */
export async function createDeleteNs(factory: SynchronousTargetFactory, held: number, operations: number): Promise<number> {
  const clock = SimClock.install(ORIGIN_EPOCH_MS);
  try {
    const target = factory({ settings: { ...DEFAULT_SETTINGS, maxActiveSessions: held + 1 }, store: new PendingStore(), agent: instantAgent });
    for (let index = 0; index < held; index += 1) target.initializeSession({ contentSessionId: `held-${index}`, project: 'bench', userPrompt: 'p' });
    await settle();
    if (target.sessionCount() !== held) throw new Error(`expected ${held} sessions held, found ${target.sessionCount()}`);
    // Both sides start from a collected heap (npm run bench passes --expose-gc), so that neither
    // pays for the garbage of the fill or of the round before.
    globalThis.gc?.();
    const started = process.hrtime.bigint();
    for (let index = 0; index < operations; index += 1) {
      const { sessionDbId } = target.initializeSession({ contentSessionId: `churn-${index}`, project: 'bench', userPrompt: 'p' });
      await target.deleteSession(sessionDbId);
    }
    const elapsedNs = Number(process.hrtime.bigint() - started);
    if (target.sessionCount() !== held) throw new Error(`expected ${held} sessions held after the churn, found ${target.sessionCount()}`);
    await target.shutdown();
    return elapsedNs / operations;
  } finally {
    clock.uninstall();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface CreateDeleteMeasure {
  readonly fewNs: number;
  readonly manyNs: number;
  readonly ratio: number;
}

/** Median of `rounds` interleaved measurements at HELD_FEW and HELD_MANY. */
export async function measureCreateDelete(factory: SynchronousTargetFactory, operations: number, rounds: number, heldMany = HELD_MANY): Promise<CreateDeleteMeasure> {
  const few: number[] = [];
  const many: number[] = [];
  await createDeleteNs(factory, HELD_FEW, operations); // warm-up: the JIT, not the target
  for (let round = 0; round < rounds; round += 1) {
    few.push(await createDeleteNs(factory, HELD_FEW, operations));
    many.push(await createDeleteNs(factory, heldMany, operations));
  }
  return { fewNs: median(few), manyNs: median(many), ratio: median(many) / median(few) };
}

/** The bench section: prints the reference's ratio against its goal, and the twin's for orientation. */
export async function createDelete(): Promise<CreateDeleteMeasure> {
  const reference = await measureCreateDelete(referenceTarget, 50_000, 3);
  const twin = await measureCreateDelete(leakyTarget([]), 2_000, 1, TWIN_HELD_MANY);
  const micros = (ns: number) => `${(ns / 1e3).toFixed(2).padStart(7)} µs`;
  console.log(`create + delete of one session with ${HELD_FEW} and ${HELD_MANY.toLocaleString('en-US')} idle sessions held (fake clock held still, median of 3 interleaved rounds):`);
  console.log(`  reference    ${micros(reference.fewNs)} at ${HELD_FEW}, ${micros(reference.manyNs)} at ${HELD_MANY.toLocaleString('en-US')}   ratio ${reference.ratio.toFixed(2)}   goal ≤ 1.2   ${reference.ratio <= 1.2 ? 'met' : 'NOT met'}`);
  console.log(`  leaky twin   ${micros(twin.fewNs)} at ${HELD_FEW}, ${micros(twin.manyNs)} at ${TWIN_HELD_MANY.toLocaleString('en-US')}    ratio ${twin.ratio.toFixed(2)}   (one listener per session, as 8.5.7: for orientation)`);
  return reference;
}
