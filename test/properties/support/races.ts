/**
 * Races: the same world and invariants as the model-based run, but the order of events is chosen
 * by `fc.scheduler`. Hook calls, deletes and clock steps (which fire cleanup, watchdog and restart
 * timers) are scheduled tasks; so is every step of every generator (send a message, get the
 * reply, exit), so a generator can exit just before or just after a delete, new work can arrive
 * between its last reply and its exit, and a cleanup timer can fire between any two of them. After
 * each task the invariants are checked; at the end the work stops and everything must drain.
 */
import fc from 'fast-check';
import { SessionLimitError, type SynchronousTargetFactory } from '../../../src/contract.ts';
import { settleTurn } from '../../../sim/engine/clock.ts';
import { abortLagArbitrary } from './properties.ts';
import { modelSettingsArbitrary } from './session-model.ts';
import { settle, type ManualRun, World } from './world.ts';

export const RACE_SESSIONS = ['A', 'B'] as const;

/**
 * Scheduler steps one race may take. A race of 11 actions and a few generators settles in a few
 * hundred; a target that keeps scheduling work (a generator that restarts itself, a route that
 * never finishes) would otherwise keep the loop going for ever, on microtasks only, where not
 * even vitest's timeout can fire. Reaching the cap fails the run, and fast-check prints its seed
 * and path.
 */
export const RACE_STEPS_MAX = 2_000;
/** Every this many steps the loop lets the real event loop turn, so a test timeout can still fire. */
const STEPS_PER_TURN = 100;

export class RaceRunaway extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'RaceRunaway';
  }
}
type RaceSession = (typeof RACE_SESSIONS)[number];

export type RaceAction =
  | { readonly kind: 'prompt' | 'observe' | 'delete'; readonly session: RaceSession }
  /** Moves the clock by this fraction of the TTL. */
  | { readonly kind: 'tick'; readonly ttlFraction: number };

const raceSession = fc.constantFrom(...RACE_SESSIONS);

export const raceActionsArbitrary: fc.Arbitrary<RaceAction[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('prompt' as const, 'observe' as const), session: raceSession }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), session: raceSession }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ttlFraction: fc.constantFrom(0.01, 0.25, 0.5, 0.75, 1, 2) }) },
  ),
  { minLength: 1, maxLength: 10 },
);

function label(action: RaceAction): string {
  return action.kind === 'tick' ? `tick ${action.ttlFraction} TTL` : `${action.kind} ${action.session}`;
}

async function perform(world: World, action: RaceAction, serial: number): Promise<void> {
  if (world.closed) return;
  if (action.kind === 'tick') return world.advance(Math.round(action.ttlFraction * world.settings.ttlMs));
  const sessionDbId = world.store.lookup(action.session)?.sessionDbId;
  if (action.kind === 'delete') {
    if (sessionDbId !== undefined) await world.target.deleteSession(sessionDbId);
    return;
  }
  try {
    if (action.kind === 'prompt') {
      const result = world.target.initializeSession({ contentSessionId: action.session, project: 'demo', userPrompt: `prompt ${serial} for ${action.session}` });
      if (result.created) world.created(result.sessionDbId);
    } else {
      const result = world.target.queueObservation({ contentSessionId: action.session, toolName: 'Read', text: `observation ${serial} for ${action.session}` });
      if (result.queued) {
        world.enqueued += 1;
        if (result.created) world.created(result.sessionDbId);
      }
    }
  } catch (error) {
    if (!(error instanceof SessionLimitError)) throw error;
  }
}

/** Hands each step of a generator run to the scheduler: send, reply, …, then exit (or crash, per the plan). */
function driveRun(scheduler: fc.Scheduler, run: ManualRun, crashes: boolean): void {
  const who = `session ${run.sessionDbId} generator ${run.serial}`;
  const next = (): void => {
    void scheduler.schedule(Promise.resolve(), `${who} sends`).then(() => {
      if (!run.live) return;
      if (crashes) return run.crash();
      const message = run.send();
      if (!message) {
        void scheduler.schedule(Promise.resolve(), `${who} exits`).then(() => run.end(undefined));
        return;
      }
      void scheduler.schedule(Promise.resolve(), `${who} gets its reply`).then(() => {
        if (!run.live) return;
        run.reply(message);
        next();
      });
    });
  };
  next();
}

/** The race property for a target. */
export function raceProperty(target: SynchronousTargetFactory) {
  return fc.asyncProperty(fc.scheduler(), modelSettingsArbitrary, raceActionsArbitrary, fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }), abortLagArbitrary, async (scheduler, settings, actions, crashPlan, abortLag) => {
    const world = new World(target, settings);
    // A generator may end a tick after its abort: a delete must then wait for it, not return at once.
    world.agent.abortLag = abortLag;
    try {
      let runs = 0;
      world.agent.onStart = (run) => driveRun(scheduler, run, crashPlan[runs++ % crashPlan.length]!);
      const inFlight = new Set<Promise<void>>();
      // One prompt first, so that there is a session and a generator to race against.
      const all: RaceAction[] = [{ kind: 'prompt', session: 'A' }, ...actions];
      all.forEach((action, serial) => {
        void scheduler.schedule(Promise.resolve(), label(action)).then(() => {
          const done = perform(world, action, serial);
          inFlight.add(done);
          void done.finally(() => inFlight.delete(done));
        });
      });
      for (let steps = 1; scheduler.count() > 0; steps += 1) {
        if (steps > RACE_STEPS_MAX) throw new RaceRunaway(`the race did not settle within ${RACE_STEPS_MAX} scheduler steps: the target keeps scheduling work (${scheduler.count()} tasks waiting)`);
        if (steps % STEPS_PER_TURN === 0) await settleTurn();
        await scheduler.waitNext(1);
        await settle();
        await Promise.all([...inFlight]);
        await settle();
        world.checkInvariants();
      }
      // Work stops: generators finish on their own, time passes, everything must drain.
      world.agent.onStart = undefined;
      world.agent.goQuiet();
      await settle();
      await world.advance(world.quietMs());
      world.checkInvariants();
      world.checkDrained();
    } finally {
      world.dispose();
    }
  });
}
