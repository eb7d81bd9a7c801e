/**
 * One team-size run of the benchmark: steady-week's traffic per developer for one simulated
 * working day, the cap scaled with the team (10 sessions a developer, at least steady-week's), the
 * reference, every invariant on. Returns the hook events, the wall and CPU time, and the heap at
 * the busiest hour (after a collection, read at a checkpoint every simulated half hour) against the
 * sessions held then.
 *
 * Also a script, for profiling one size on its own:
 *   node --expose-gc --cpu-prof --import tsx bench/team-size.ts 10000 [budget seconds]
 */
import type { SessionTarget } from '../src/contract.ts';
import type { HookEvent } from '../sim/engine/events.ts';
import { runScenario, scenarioTraffic } from '../sim/runs/run.ts';
import { loadScenario, type Scenario } from '../sim/runs/scenario.ts';
import { formatSimTime } from '../sim/engine/sim-time.ts';
import { builtInTarget, type NamedTarget } from '../sim/targets/targets.ts';
import { runAgentLoop, runTargetAlone } from './target-alone.ts';

/** Sessions of cap per developer in the team-size runs, so that a larger team is not just turned away at the cap. */
export const CAP_SESSIONS_PER_DEVELOPER = 10;
/** Where the heap and the CPU are read: every half hour of simulated time. */
const HEAP_CHECKPOINT_MS = 30 * 60_000;
/**
 * The like-for-like window: CPU per hook event from the start of the day to 10:00, which every
 * size reaches within the budget. Comparing whole runs would compare different mixes: a run that
 * stops in the morning ramp sees more session starts per event than a whole day does.
 */
export const WINDOW_END_MS = 10 * 3_600_000;

class BudgetSpent extends Error {
  constructor(
    readonly hookEvents: number,
    readonly nowMs: number,
  ) {
    super('budget spent');
  }
}

export interface TeamRun {
  readonly developers: number;
  readonly hookEvents: number;
  readonly wallSeconds: number;
  /** CPU per hook event from the first progress report (65,536 events in: the team's streams set up, the JIT warm) to the end; a run shorter than twice that, whole. */
  readonly cpuMicrosPerEvent: number;
  /** CPU per hook event up to WINDOW_END_MS of the day; undefined when the run stopped before it. */
  readonly windowCpuMicrosPerEvent: number | undefined;
  /** Hook events up to WINDOW_END_MS (0 when the run stopped before it). */
  readonly windowHookEvents: number;
  /** Whether the whole day ran within the budget; otherwise `note` says where it stopped. */
  readonly completed: boolean;
  readonly note: string;
  /** At the checkpoint that found the most sessions: sessions held and heap used after a collection. */
  readonly peakSessions: number;
  readonly heapAtPeakBytes: number;
}

export function teamScenario(developers: number): Scenario {
  const steadyWeek = loadScenario('scenarios/steady-week.json');
  if (steadyWeek.traffic.kind !== 'model') throw new Error('steady-week must use generated traffic');
  return {
    ...steadyWeek,
    days: 1,
    traffic: { kind: 'model', model: { ...steadyWeek.traffic.model, developers } },
    settings: { ...steadyWeek.settings, maxActiveSessions: Math.max(steadyWeek.settings.maxActiveSessions, developers * CAP_SESSIONS_PER_DEVELOPER) },
  };
}

/** `progress`: told now and then (every 65,536 hook events) where the day is. */
export async function teamRun(developers: number, budgetMs: number, progress?: (nowMs: number, hookEvents: number) => void): Promise<TeamRun> {
  const scenario = teamScenario(developers);
  let peakSessions = 0;
  let heapAtPeakBytes = 0;
  let heapMs = 0n;
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  let cpuInHeapReads = 0;
  let hookEvents: number;
  let note: string;
  let completed = false;
  /** CPU and events at the first progress report, and the heap-read CPU then. */
  let windowCpuMicrosPerEvent: number | undefined;
  let windowHookEvents = 0;
  let steadyFrom: { cpuMicros: number; events: number; heapReadMicros: number } | undefined;
  const cpuMicrosNow = () => {
    const cpu = process.cpuUsage(cpuStarted);
    return cpu.user + cpu.system;
  };
  try {
    const outcome = await runScenario(scenario, {
      target: builtInTarget('reference')!,
      seed: 1,
      stop: 'never',
      checkpoint: {
        everyMs: HEAP_CHECKPOINT_MS,
        onCheckpoint: (nowMs, target, events) => {
          if (nowMs === WINDOW_END_MS) {
            windowCpuMicrosPerEvent = (cpuMicrosNow() - cpuInHeapReads) / events;
            windowHookEvents = events;
          }
          const sessions = target.sessionCount();
          if (sessions <= peakSessions || !globalThis.gc) return;
          // The collection is the benchmark's, not the simulator's: kept out of the times.
          const readStarted = process.hrtime.bigint();
          const cpuBefore = process.cpuUsage();
          globalThis.gc();
          peakSessions = sessions;
          heapAtPeakBytes = process.memoryUsage().heapUsed;
          const cpu = process.cpuUsage(cpuBefore);
          cpuInHeapReads += cpu.user + cpu.system;
          heapMs += process.hrtime.bigint() - readStarted;
        },
      },
      onProgress: (nowMs, events) => {
        progress?.(nowMs, events);
        steadyFrom ??= { cpuMicros: cpuMicrosNow(), events, heapReadMicros: cpuInHeapReads };
        if (Number(process.hrtime.bigint() - started - heapMs) / 1e6 > budgetMs) throw new BudgetSpent(events, nowMs);
      },
    });
    hookEvents = Object.values(outcome.result!.hookEvents).reduce((sum, count) => sum + count, 0);
    completed = true;
    note = `the whole day, ${outcome.verdict}, peak ${outcome.result!.peaks.activeSessions.toLocaleString('en-US')} sessions`;
  } catch (error) {
    if (!(error instanceof BudgetSpent)) throw error;
    hookEvents = error.hookEvents;
    note = `stopped at ${formatSimTime(error.nowMs)} of the day`;
  }
  const wallSeconds = Number(process.hrtime.bigint() - started - heapMs) / 1e9;
  // A run too short for a steady window (a small team's whole day) is measured whole.
  const from = steadyFrom && hookEvents >= 2 * steadyFrom.events ? steadyFrom : { cpuMicros: 0, events: 0, heapReadMicros: 0 };
  const cpuMicros = cpuMicrosNow() - from.cpuMicros - (cpuInHeapReads - from.heapReadMicros);
  return { developers, hookEvents, wallSeconds, cpuMicrosPerEvent: cpuMicros / (hookEvents - from.events), windowCpuMicrosPerEvent, windowHookEvents, completed, note, peakSessions, heapAtPeakBytes };
}

/**
 * The like-for-like window measures at least this many hook events: a 100-developer morning to
 * 10:00 is about 8,700, and one such run would mostly measure the JIT settling, so small teams run
 * more seeds (each to 10:00) until their mornings add up to this.
 */
export const WINDOW_EVENTS_MIN = 80_000;

export interface Morning {
  readonly hookEvents: number;
  readonly cpuMicros: number;
}

class Stopped<T> extends Error {
  constructor(readonly value: T) {
    super('stopped at a checkpoint');
  }
}

/**
 * Runs a team's day (seed 1 unless given; the reference, every invariant on, unless `target` says
 * otherwise) until `stopAt`, asked at each checkpoint, gives a value: that value. A day that ends
 * first is an error.
 */
export async function runTeamDayUntil<T>(
  developers: number,
  options: { readonly seed?: number; readonly target?: NamedTarget; readonly everyMs: number; readonly stopAt: (nowMs: number, target: SessionTarget, hookEvents: number) => T | undefined | Promise<T | undefined> },
): Promise<T> {
  try {
    await runScenario(teamScenario(developers), {
      target: options.target ?? builtInTarget('reference')!,
      seed: options.seed ?? 1,
      stop: 'never',
      checkpoint: {
        everyMs: options.everyMs,
        onCheckpoint: async (nowMs, target, hookEvents) => {
          const value = await options.stopAt(nowMs, target, hookEvents);
          if (value !== undefined) throw new Stopped(value);
        },
      },
    });
  } catch (error) {
    if (error instanceof Stopped) return error.value as T;
    throw error;
  }
  throw new Error(`the team-size day of ${developers} developers ended before its checkpoint`);
}

/** One team's simulated morning, seed `seed`, to 10:00 (the whole simulator, every invariant on). */
export async function simulatedMorning(developers: number, seed: number): Promise<Morning> {
  const cpuStarted = process.cpuUsage();
  const hookEvents = await runTeamDayUntil(developers, { seed, everyMs: HEAP_CHECKPOINT_MS, stopAt: (nowMs, _target, events) => (nowMs >= WINDOW_END_MS ? events : undefined) });
  const cpu = process.cpuUsage(cpuStarted);
  return { hookEvents, cpuMicros: cpu.user + cpu.system };
}

/** One team's hook events to 10:00, seed `seed`, generated before any clock starts, and its settings. */
function morningEvents(developers: number, seed: number): { events: HookEvent[]; scenario: Scenario } {
  const events: HookEvent[] = [];
  const scenario = teamScenario(developers);
  for (const event of scenarioTraffic(scenario, seed, 1)) {
    if (event.atMs >= WINDOW_END_MS) break;
    events.push(event);
  }
  return { events, scenario };
}

/**
 * One team's morning to 10:00 against the reference alone (bench/target-alone.ts): the floor the
 * simulation's cost per event stands on. The traffic model is not measured.
 */
export async function targetAloneMorning(developers: number, seed: number): Promise<Morning> {
  const { events, scenario } = morningEvents(developers, seed);
  return runTargetAlone(events, scenario.settings);
}

/** The same morning through the simulation's loop with nothing judged (bench/target-alone.ts). */
export async function agentLoopMorning(developers: number, seed: number): Promise<Morning> {
  const { events, scenario } = morningEvents(developers, seed);
  return runAgentLoop(events, scenario.settings, scenario.agent, scenario.faults, seed);
}

/** CPU per hook event over mornings of seeds `firstSeed`, `firstSeed + 1`, … until they add up to `eventsMin` hook events (at least one). */
export async function mornings(run: (seed: number) => Promise<Morning>, eventsMin: number, firstSeed = 1): Promise<{ cpuMicrosPerEvent: number; seeds: number; hookEvents: number }> {
  let hookEvents = 0;
  let cpuMicros = 0;
  let seed = firstSeed;
  do {
    const morning = await run(seed);
    hookEvents += morning.hookEvents;
    cpuMicros += morning.cpuMicros;
    seed += 1;
  } while (hookEvents < eventsMin);
  return { cpuMicrosPerEvent: cpuMicros / hookEvents, seeds: seed - firstSeed, hookEvents };
}

if (process.argv[1]?.endsWith('team-size.ts')) {
  const developers = Number(process.argv[2] ?? 1_000);
  const budgetSeconds = Number(process.argv[3] ?? 600);
  // A large team's day takes a while (100,000 developers: about an hour): where it is, every 30 s, on stderr.
  // (process.hrtime.bigint, as the budget: Date is the simulation's while it runs.)
  let shownAt = process.hrtime.bigint();
  const run = await teamRun(developers, budgetSeconds * 1e3, (nowMs, hookEvents) => {
    if (process.hrtime.bigint() - shownAt < 30_000_000_000n) return;
    shownAt = process.hrtime.bigint();
    process.stderr.write(`${developers.toLocaleString('en-US')} developers: ${formatSimTime(nowMs)}, ${hookEvents.toLocaleString('en-US')} hook events\n`);
  });
  console.log(JSON.stringify(run));
}
