/**
 * `npm run bench`: speed and memory goals, measured side by side in one run. Never a unit test:
 * these machines are shared and noisy, so the numbers are printed with their goals, not asserted.
 * `npm run bench -- --only create-delete,team-sizes` runs some sections only.
 *
 * 0. The reference's create + delete with 100 and with 100,000 sessions held (bench/create-delete.ts).
 *    Goal: the ratio at most 1.2 (O(1) per operation).
 *
 * 1. The heavy month (scenarios/heavy-month.json, reference, every invariant on), in a child
 *    process: wall time and peak RSS. Goals: under 3.5 s on a quiet machine and 500 MB for at least 1,000,000 hook events.
 * 2. Throughput on one pre-generated stream of the same traffic, merged by the same small heap:
 *    the full simulation against a bare loop that pops each event and does one Map update (the
 *    stand-in for the physical limit). Goal for the ratio: at least 1/3; and the full simulation
 *    at least 0.6 of the target alone. Beside them, the
 *    reference target alone on the same stream (bench/target-alone.ts: its routes, texts of the
 *    simulation's sizes, the clock moved to each event, an agent that answers at once; no driver,
 *    no checker): the share of the gap that is the target's own work, which no driver can remove.
 * 3. `leaksim check` (the whole gate), wall time with --jobs 1 and --jobs 2, each in a child
 *    process as a user runs it, from the build as an installed copy runs (the sources when there
 *    is no build). Goal: the ratio at most 0.6 on a 2-core machine. Its floor is the longest run's
 *    share of the gate (the heavy month, about 55%): the section prints that share beside it.
 * 4. Hook events per second against team size: 10, 100, 1,000, 10,000 and 100,000 developers,
 *    one simulated working day each (bench/team-size.ts), with the CPU time per event and the heap
 *    per session held at the busiest checkpoint. Goal: CPU per event at 10,000 developers within
 *    1.25× of that at 100. A run stops after TEAM_RUN_BUDGET_MS and reports its rate so far.
 * 5. `leaksim tune` over a 40-setting grid on steady-week (5 TTLs × 4 caps × 2 history bounds,
 *    its 2 seeds: 80 runs) with --jobs 2, in a child process: wall time. Goal: under a minute.
 * 6. `leaksim history` over a clone of every shared claude-mem release (../shared; skipped without
 *    it), steady-week, one seed, --jobs 2, an empty cache, in a child process: wall time. Goal: under
 *    10 minutes. Then the same again, from the cache it filled: what a rerun costs.
 * 7. Start-up of `leaksim --version` and of a check worker, from the build against the sources
 *    compiled by tsx (bench/startup.ts; `npm run bench:startup` runs it alone). Goal: a third.
 * 8. Memory per session held (bench/session-memory.ts): 1,000 developers' day at 11:00, the
 *    target's retained bytes (a heap snapshot read by memlab) apart from the simulator's.
 *    Goal: the simulator's own under 2 KB per held session.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import TinyQueue from 'tinyqueue';
import { referenceTarget } from '../src/session-manager.ts';
import { simulate } from '../sim/runs/driver.ts';
import type { HookEvent } from '../sim/engine/events.ts';
import { ORIGIN_EPOCH_MS } from '../sim/runs/run.ts';
import { loadScenario } from '../sim/runs/scenario.ts';
import { developerTraffic } from '../sim/engine/traffic.ts';
import { createDelete } from './create-delete.ts';
import { agentLoopMorning, mornings, simulatedMorning, targetAloneMorning, teamRun, WINDOW_EVENTS_MIN } from './team-size.ts';
import { startup } from './startup.ts';
import { runAgentLoop, runTargetAlone, type FloorRun } from './target-alone.ts';
import { sessionMemory, sessionMemoryLines } from './session-memory.ts';

const HEAVY_MONTH = 'scenarios/heavy-month.json';
/** Days of the heavy month's traffic used for the side-by-side throughput runs. */
const THROUGHPUT_DAYS = 10;
const REPEATS = 3;
/** The heavy month's settings and traffic model, for the side-by-side runs. */
const scenario = loadScenario(HEAVY_MONTH);

function formatRate(eventsPerSecond: number): string {
  return `${(eventsPerSecond / 1e6).toFixed(2)} M events/s`;
}

/** The heavy month in a child process of its own (bench/heavy-month.ts), so that its peak RSS is its own. */
function heavyMonthRun(): { hookEvents: number; agentEvents: number; wallMs: number; maxRssBytes: number; verdict: string } {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'bench/heavy-month.ts', HEAVY_MONTH], { encoding: 'utf8' });
  return JSON.parse(stdout) as ReturnType<typeof heavyMonthRun>;
}

function heavyMonth(): void {
  const run = heavyMonthRun();
  const seconds = run.wallMs / 1e3;
  const megabytes = run.maxRssBytes / 2 ** 20;
  console.log(`heavy month (${HEAVY_MONTH}, reference, seed 1, every invariant on): ${run.verdict}`);
  console.log(`  ${run.hookEvents.toLocaleString('en-US')} hook events (+ ${run.agentEvents.toLocaleString('en-US')} agent replies)`);
  console.log(`  wall time   ${seconds.toFixed(2)} s     goal < 3.5 s on a quiet machine   ${seconds < 3.5 ? 'met' : 'NOT met'}`);
  console.log(`  peak RSS    ${megabytes.toFixed(0)} MB     goal < 500 MB           ${megabytes < 500 ? 'met' : 'NOT met'}`);
  console.log(`  hook events ${run.hookEvents >= 1_000_000 ? '≥' : '<'} 1,000,000      ${run.hookEvents >= 1_000_000 ? 'met' : 'NOT met'}`);
}

const TUNE_GRID = ['--ttl', '5,15,30,60,120', '--max-sessions', '10,25,50,100', '--max-history', '20,50'];

const SHARED_RELEASES = 'third-party/claude-mem';

async function historyOfSharedReleases(): Promise<void> {
  const { sharedData } = await import('../test/helpers/shared-data.ts');
  const releases = sharedData(SHARED_RELEASES, 'the leaksim history benchmark');
  if (!releases.available) return;
  const { makeReleaseClone, releaseFolders } = await import('../test/helpers/release-clone.ts');
  const folders = releaseFolders(releases.path);
  const clone = makeReleaseClone(releases.path, folders.map((folder) => ({ folder })));
  const cache = mkdtempSync(join(tmpdir(), 'leaksim-bench-history-cache-'));
  // The first run fills an empty cache (what a run without one costs, plus writing it); the rerun reads it.
  const history = (): { seconds: number; summary: { releases: { error: string | null }[] } } => {
    const args = ['bin/leaksim.js', 'history', `claude-mem:${clone}`, '--scenario', 'steady-week', '--seeds', '1', '--jobs', '2', '--cache', join(cache, 'cache'), '--out', 'reports/bench-history', '--json'];
    const started = process.hrtime.bigint();
    let stdout: string;
    try {
      stdout = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    } catch (error) {
      stdout = (error as { stdout: string }).stdout; // exit 1: a regression in the timeline, not a failure of the benchmark
    }
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, summary: JSON.parse(stdout) as { releases: { error: string | null }[] } };
  };
  try {
    const first = history();
    const rerun = history();
    const errors = first.summary.releases.filter((release) => release.error !== null).length;
    console.log(`history of the ${folders.length} shared claude-mem releases (steady-week, seed 1, --jobs 2, an empty cache): ${first.summary.releases.length - errors} ran, ${errors} error cells`);
    console.log(`  wall time   ${first.seconds.toFixed(1)} s     goal < 600 s            ${first.seconds < 600 ? 'met' : 'NOT met'}`);
    console.log(`  rerun from the cache ${rerun.seconds.toFixed(1)} s (${(rerun.seconds / first.seconds).toFixed(3)} of the first)`);
  } finally {
    rmSync(clone, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}

function tuneGrid(): void {
  const args = ['bin/leaksim.js', 'tune', 'scenarios/steady-week.json', ...TUNE_GRID, '--budget-mb', '200', '--jobs', '2', '--out', 'reports/bench-tune', '--json'];
  const started = process.hrtime.bigint();
  const stdout = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = JSON.parse(stdout) as { settings: unknown[]; seeds: number[]; recommended: { setting: number } | null };
  console.log(`tune grid (steady-week, ${summary.settings.length} settings × ${summary.seeds.length} seeds, --jobs 2): recommended #${summary.recommended?.setting ?? 'none'}`);
  console.log(`  wall time   ${seconds.toFixed(2)} s     goal < 60 s             ${seconds < 60 ? 'met' : 'NOT met'}`);
}

/**
 * The stream both sides consume: each developer's pre-generated events merged by a binary heap
 * with one entry per developer, exactly as the traffic model merges them, minus the generation.
 */
function* merged(perDeveloper: readonly (readonly HookEvent[])[]): Generator<HookEvent> {
  const heads = new TinyQueue<{ event: HookEvent; developer: number; index: number }>([], (a, b) => a.event.atMs - b.event.atMs || a.developer - b.developer);
  perDeveloper.forEach((events, developer) => {
    if (events.length) heads.push({ event: events[0]!, developer, index: 0 });
  });
  while (heads.length > 0) {
    const head = heads.pop()!;
    yield head.event;
    const next = perDeveloper[head.developer]![head.index + 1];
    if (next) heads.push({ event: next, developer: head.developer, index: head.index + 1 });
  }
}

/** Pops every event of the merged stream and does one Map update: no clock, no target, no checks. */
function bareLoop(perDeveloper: readonly (readonly HookEvent[])[]): number {
  const lastSeen = new Map<string, number>();
  let count = 0;
  const started = process.hrtime.bigint();
  for (const event of merged(perDeveloper)) {
    lastSeen.set('session' in event ? event.session : event.kind, event.atMs);
    count += 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (lastSeen.size === 0) throw new Error('the bare loop saw nothing');
  return count / seconds;
}

async function fullSimulation(perDeveloper: readonly (readonly HookEvent[])[], count: number): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await simulate({
    seed: 1,
    settings: scenario.settings,
    target: referenceTarget,
    traffic: merged(perDeveloper),
    originEpochMs: ORIGIN_EPOCH_MS,
    agent: scenario.agent,
    faults: scenario.faults,
    sessionEndRoute: scenario.sessionEndRoute,
    end: scenario.end,
    sampleEveryMs: scenario.sampleEveryMs,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!result.passed) throw new Error(`the reference failed the throughput run: ${result.violations[0]?.detail}`);
  return count / seconds;
}

/** Hook events per second of wall time of a floor run (bench/target-alone.ts). */
function floorRate(run: FloorRun): number {
  return run.hookEvents / run.wallSeconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The build when there is one (what an installed copy runs), else the sources. */
const CHECK_RUNS_FROM = existsSync(join(import.meta.dirname, '..', 'dist/esm/sim/cli/main.js')) ? 'build' : 'source';

/** Wall time of the whole gate as a user runs it: `leaksim check --jobs N`, in a child process. */
function checkWallSeconds(jobs: number): number {
  const out = mkdtempSync(join(tmpdir(), 'leaksim-bench-check-'));
  try {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, ['bin/leaksim.js', 'check', '--jobs', String(jobs), '--json', '--out', join(out, 'report')], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LEAKSIM_RUN_FROM: CHECK_RUNS_FROM } });
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function checkJobs(): void {
  const one = checkWallSeconds(1);
  const two = checkWallSeconds(2);
  // The gate's longest run alone: the floor of --jobs 2.
  const longest = heavyMonthRun().wallMs / 1e3;
  const ratio = two / one;
  console.log(`leaksim check (the whole gate from the ${CHECK_RUNS_FROM}, ${cpus().length} cores, each run in a child process as a user runs it):`);
  console.log(`  --jobs 1    ${one.toFixed(2)} s`);
  console.log(`  --jobs 2    ${two.toFixed(2)} s`);
  console.log(`  ratio       ${ratio.toFixed(3)}   goal ≤ 0.6               ${ratio <= 0.6 ? 'met' : 'NOT met'}`);
  console.log(`  the longest run (the heavy month) alone ${longest.toFixed(2)} s: ${(longest / one).toFixed(3)} of --jobs 1, the least --jobs 2 can reach`);
}

const TEAM_SIZES = [10, 100, 1_000, 10_000, 100_000];
/**
 * A team-size run stops after this much wall time and reports its rate so far (a simulated day of
 * 10,000 developers is about 6.5 million hook events, of 100,000 about 65 million).
 * LEAKSIM_BENCH_TEAM_BUDGET_S raises it, to let the 100,000-developer day finish.
 */
const TEAM_RUN_BUDGET_MS = Number(process.env.LEAKSIM_BENCH_TEAM_BUDGET_S ?? 60) * 1e3;

/**
 * The largest team whose morning the target-alone side measures: its stream is generated before
 * the clock starts and held in memory (880,000 events at 10,000 developers, ten times that at
 * 100,000).
 */
const TARGET_ALONE_DEVELOPERS_MAX = 10_000;

async function teamSizes(): Promise<void> {
  console.log(`hook events per second against team size (steady-week's traffic per developer, one working day, reference, every invariant on; a run stops after ${TEAM_RUN_BUDGET_MS / 1e3} s):`);
  const simulationCpu = new Map<number, number>();
  const aloneCpu = new Map<number, number>();
  const loopCpu = new Map<number, number>();
  // One unmeasured run first, so that the smallest team is not measuring the JIT warming up.
  for (const [index, developers] of [TEAM_SIZES[0]!, ...TEAM_SIZES].entries()) {
    const run = await teamRun(developers, TEAM_RUN_BUDGET_MS);
    if (index === 0) {
      await targetAloneMorning(developers, 1);
      await agentLoopMorning(developers, 1);
      continue;
    }
    // A small team's morning is short: more seeds, each to 10:00, until the window holds WINDOW_EVENTS_MIN hook events.
    let window = run.windowCpuMicrosPerEvent;
    let seeds = 1;
    if (window !== undefined && run.windowHookEvents < WINDOW_EVENTS_MIN) {
      const more = await mornings((seed) => simulatedMorning(developers, seed), WINDOW_EVENTS_MIN - run.windowHookEvents, 2);
      window = (window * run.windowHookEvents + more.cpuMicrosPerEvent * more.hookEvents) / (run.windowHookEvents + more.hookEvents);
      seeds += more.seeds;
    }
    if (window !== undefined) simulationCpu.set(developers, window);
    const alone = developers <= TARGET_ALONE_DEVELOPERS_MAX ? await mornings((seed) => targetAloneMorning(developers, seed), WINDOW_EVENTS_MIN) : undefined;
    if (alone) aloneCpu.set(developers, alone.cpuMicrosPerEvent);
    const loop = developers <= TARGET_ALONE_DEVELOPERS_MAX ? await mornings((seed) => agentLoopMorning(developers, seed), WINDOW_EVENTS_MIN) : undefined;
    if (loop) loopCpu.set(developers, loop.cpuMicrosPerEvent);
    const windowText = window === undefined ? '    – ' : window.toFixed(1).padStart(5);
    const aloneText = alone === undefined ? '   – ' : alone.cpuMicrosPerEvent.toFixed(1).padStart(4);
    const loopText = loop === undefined ? '   – ' : loop.cpuMicrosPerEvent.toFixed(1).padStart(4);
    const perSession =
      run.peakSessions > 0
        ? `${(run.heapAtPeakBytes / run.peakSessions / 1024).toFixed(1)} KB heap per session held at ${run.peakSessions.toLocaleString('en-US')}`
        : globalThis.gc
          ? 'heap not read (no checkpoint passed with a session held)'
          : 'heap not read (npm run bench passes --expose-gc)';
    console.log(
      `  ${developers.toLocaleString('en-US').padStart(7)} developers  ${run.hookEvents.toLocaleString('en-US').padStart(11)} hook events  ${run.wallSeconds.toFixed(1).padStart(6)} s  ${formatRate(run.hookEvents / run.wallSeconds)}  ${windowText} µs CPU/event to 10:00 (${seeds === 1 ? 'seed 1' : `${seeds} seeds`}; the target alone ${aloneText}, the loop with nothing judged ${loopText}), ${run.cpuMicrosPerEvent.toFixed(1).padStart(5)} in all  ${perSession}  (${run.note})`,
    );
  }
  const ratioOf = (cpu: Map<number, number>) => (cpu.get(10_000) ?? NaN) / (cpu.get(100) ?? NaN);
  const ratio = ratioOf(simulationCpu);
  const measured = Number.isFinite(ratio) ? ratio.toFixed(2) : 'not measured (a run stopped before 10:00: raise LEAKSIM_BENCH_TEAM_BUDGET_S)';
  console.log(`  CPU per event to 10:00, 10,000 / 100 developers: ${measured}   goal ≤ 1.25   ${ratio <= 1.25 ? 'met' : 'NOT met'}`);
  console.log(`  the same for the reference target alone (no simulator around it): ${ratioOf(aloneCpu).toFixed(2)}, the floor the simulation's ratio stands on`);
  console.log(`  the same for the loop with nothing judged (the target and the simulated agent): ${ratioOf(loopCpu).toFixed(2)}`);
}

/** `npm run bench -- --only team-sizes,create-delete`: some sections only (names as below). */
const SECTIONS: Record<string, () => unknown> = {
  startup,
  'create-delete': createDelete,
  'check-jobs': checkJobs,
  'team-sizes': teamSizes,
  'heavy-month': heavyMonth,
  'tune-grid': tuneGrid,
  throughput,
  'history': historyOfSharedReleases,
  'session-memory': () => {
    for (const line of sessionMemoryLines(sessionMemory(SESSION_MEMORY_DEVELOPERS))) console.log(line);
  },
};

/** The team the memory per held session is measured with: its day reaches 11:00 in seconds, and the per-session figure hardly moves with size (docs/benchmark.md). */
const SESSION_MEMORY_DEVELOPERS = 1_000;

async function throughput(): Promise<void> {
  if (scenario.traffic.kind !== 'model') throw new Error('heavy-month must use generated traffic');
  const model = { ...scenario.traffic.model, days: THROUGHPUT_DAYS };
  const perDeveloper = Array.from({ length: model.developers }, (_, index) => [...developerTraffic(model, 1, index + 1)]);
  const count = perDeveloper.reduce((sum, events) => sum + events.length, 0);
  const bare: number[] = [];
  const full: number[] = [];
  const alone: number[] = [];
  const loop: number[] = [];
  for (let round = 0; round < REPEATS; round += 1) {
    // Interleaved, so that a noisy neighbour slows every side alike.
    bare.push(bareLoop(perDeveloper));
    full.push(await fullSimulation(perDeveloper, count));
    alone.push(floorRate(await runTargetAlone(merged(perDeveloper), scenario.settings)));
    loop.push(floorRate(await runAgentLoop(merged(perDeveloper), scenario.settings, scenario.agent, scenario.faults, 1)));
  }
  const ratio = median(full) / median(bare);
  console.log(`throughput on one stream of ${count.toLocaleString('en-US')} hook events (${THROUGHPUT_DAYS} days of the heavy month), median of ${REPEATS}, side by side:`);
  console.log(`  bare heap loop (pop + Map update)          ${formatRate(median(bare))}`);
  console.log(`  full simulation (reference, all invariants) ${formatRate(median(full))}`);
  console.log(`  the reference target alone (its routes, texts of the same sizes, the clock moved, an agent answering at once) ${formatRate(median(alone))}   (${(median(alone) / median(bare)).toFixed(3)} of the bare loop)`);
  console.log(`  ratio       ${ratio.toFixed(3)}   goal ≥ 0.333            ${ratio >= 1 / 3 ? 'met' : 'NOT met'}`);
  const driverRatio = median(full) / median(alone);
  console.log(`  full simulation / target alone ${driverRatio.toFixed(3)}   goal ≥ 0.6   ${driverRatio >= 0.6 ? 'met' : 'NOT met'}`);
  console.log(`  the loop with nothing judged (the reference, the simulated agent's replies as events; no checker, model, trace or samples) ${formatRate(median(loop))}`);
  console.log(`    / target alone ${(median(loop) / median(alone)).toFixed(3)}: what simulating the agent costs; full simulation / this loop ${(median(full) / median(loop)).toFixed(3)}: what judging costs`);
}

const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex >= 0 ? (process.argv[onlyIndex + 1] ?? '').split(',') : Object.keys(SECTIONS);
const unknown = only.filter((name) => !(name in SECTIONS));
if (unknown.length) {
  console.error(`bench: unknown section ${unknown.join(', ')} (sections: ${Object.keys(SECTIONS).join(', ')})`);
  process.exit(2);
}
console.log(`leaksim bench: Node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((load) => load.toFixed(1)).join(' ')} at ${new Date().toISOString().slice(0, 16)} UTC`);
for (const name of only) await SECTIONS[name]!();
