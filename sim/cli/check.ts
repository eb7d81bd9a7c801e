/**
 * `leaksim check`: the CI gate. Every scenario against every target it states a verdict for
 * (reference, baseline, twin, and the flaws it names), for each of its seeds; then the flaw
 * table: every named flaw must be caught by at least one scenario.
 * Exit 0 when every verdict is as expected and every flaw is caught, 1 otherwise, 2 for bad input.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FLAW_NAMES, type FlawName } from '../../src/baseline/flaws.ts';
import { InputError } from '../../src/input-error.ts';
import { flawCoverage, type FlawCoverage, type Report, type ReportScope } from '../report/report.ts';
import type { RunOutcome } from '../runs/run.ts';
import { defaultJobs, poolJobs, runPlan, type PlannedRun, type PoolProgress } from '../runs/pool/run-pool.ts';
import { folderPart } from '../report/report-folder.ts';
import { loadScenario, type Scenario, type Verdict } from '../runs/scenario.ts';
import { builtInScenarioDir, scenarioFileNames, scenarioPath } from '../runs/scenario-files.ts';
import { resolveTargetToRunIsolated as resolveTarget, type NamedTarget } from '../targets/targets.ts';
import { expectedFor, loadExpectations, type Expectations } from '../runs/expect-file.ts';
import { DEFAULT_BASELINES_FILE } from '../heap-analysis/baselines.ts';
import { DEFAULT_KEPT_SNAPSHOT_DIR, HEAP_PROBES_PARALLEL_MAX } from '../heap/gate.ts';
import { heapCheckCommand } from './heap.ts';
import { Charts } from '../report/html/charts.ts';
import { renderAsRunsFinish } from '../report/html/run-page.ts';
import type { Output } from './output.ts';
import { EXIT_OK, finishReport, parseOptions, printOutcome, reportFolder, stopOnTargetCodeError, wholeNumber } from './shared.ts';

export const CHECK_HELP = `usage: leaksim check [scenario.json or built-in name ...] [options]

The CI gate: runs every scenario (default: the built-in scenarios) against each target it expects a
verdict for, for each of its seeds, and checks that every named flaw is caught somewhere.
Exit 0 when all verdicts are as expected, 1 otherwise, 2 for bad input.

options:
  --target MODULE  judge an adapter module instead of the built-in targets: every scenario, each
                   of its seeds (see docs/targets.md, "Adapting a target"); claude-mem:<path>
                   judges claude-mem's own session manager from a checkout (docs/claude-mem.md)
  --expect FILE    with --target: the verdict each scenario should give it, as JSON
                   ({"scenario-name": "pass" | {"failsOn": [invariants], "why": "..."}});
                   a scenario it does not name is expected to pass
  --only NAME   run only the scenario with this name (repeatable)
  --jobs N      runs at once, each in a child process (default: the machine's cores); the
                reports are the same bytes for any N
  --shard I/N   run only shard I of N (every N-th run, from the I-th), for CI machines side by
                side; 'leaksim merge' joins their report folders into the full check's
  --out DIR     report folder (default reports/check, or reports/check-<target> with --target;
                reports/heap with --heap); an existing folder is replaced only when leaksim wrote it
  --json        print summary.json to stdout instead of the readable lines

A subset (--only, scenario files given, --shard) judges flaw coverage only over the flaws its
runs target, and says which it left out.

heap gates (see docs/heap.md):
  --heap               run the heap gates instead: every scenario with a "heap" section, each
                       target and seed in a child process with --expose-gc, heap snapshots read
                       with memlab (report folder default reports/heap)
  --baselines FILE     committed heap baselines (default ${DEFAULT_BASELINES_FILE})
  --update-baselines   rewrite the baselines file from this run (deliberately: npm run heap:update)
  --keep-snapshots     keep the .heapsnapshot files (in ${DEFAULT_KEPT_SNAPSHOT_DIR}/)
  --jobs N             probes at once (default: one per core, at most ${HEAP_PROBES_PARALLEL_MAX})`;


export async function checkCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('check', args, {
    only: { type: 'string', multiple: true },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    shard: { type: 'string' },
    heap: { type: 'boolean', default: false },
    baselines: { type: 'string' },
    'update-baselines': { type: 'boolean', default: false },
    'keep-snapshots': { type: 'boolean', default: false },
    target: { type: 'string' },
    expect: { type: 'string' },
  });
  if (values.help) {
    output.out(CHECK_HELP);
    return EXIT_OK;
  }
  if (!values.heap) {
    for (const flag of ['baselines', 'update-baselines', 'keep-snapshots'] as const) {
      if (values[flag]) throw new InputError('leaksim check', 0, `--${flag}`, 'only applies with --heap');
    }
  }
  if (values.expect !== undefined && values.target === undefined) throw new InputError('leaksim check', 0, '--expect', 'only applies with --target');
  const jobsGiven = wholeNumber('check', '--jobs', values.jobs, 1, MAX_JOBS);
  const jobs = jobsGiven ?? defaultJobs();
  const shard = parseShard(values.shard);
  if (shard && values.heap) throw new InputError('leaksim check', 0, '--shard', 'applies to the invariant gate, not to --heap (run the heap gate as one job)');
  const files = positionals.length ? positionals.map((argument) => scenarioPath(argument, 'leaksim check')) : scenarioFiles(builtInScenarioDir());
  let scenarios = files.map((file) => loadScenario(file));
  const scenarioNames = scenarios.map((scenario) => scenario.name);
  if (values.only?.length) {
    const unknown = values.only.filter((name) => !scenarios.some((scenario) => scenario.name === name));
    if (unknown.length) throw new InputError('leaksim check', 0, '--only', unknownScenarioText(unknown, scenarioNames));
    scenarios = scenarios.filter((scenario) => values.only!.includes(scenario.name));
  }
  const adapter = values.target === undefined ? undefined : await resolveTarget(values.target);
  // A claude-mem checkout brings its era's expect file when none is given (sim/targets/claude-mem/layout.ts eraOf).
  const expectFile = values.expect ?? (values.heap ? undefined : adapter?.defaultExpect?.file);
  if (values.expect === undefined && expectFile !== undefined) output.err(`expect file: ${expectFile} (${adapter!.defaultExpect!.because}; --expect FILE to use another)`);
  const expectations = expectFile === undefined ? new Map<string, Verdict>() : loadExpectations(expectFile, scenarioNames);
  if (values.heap) {
    if (values.expect !== undefined) throw new InputError('leaksim check --heap', 0, '--expect', 'does not apply to the heap gate: an adapter must pass every heap scenario');
    return heapCheckCommand(scenarios, output, {
      ...(adapter ? { target: adapter } : {}),
      out: reportFolder('check --heap', values.out ?? (adapter ? `reports/heap-${folderPart(adapter.name)}` : 'reports/heap')),
      json: values.json,
      baselinesFile: values.baselines ?? DEFAULT_BASELINES_FILE,
      updateBaselines: values['update-baselines'],
      keepSnapshots: values['keep-snapshots'],
      ...(jobsGiven !== undefined ? { jobs: jobsGiven } : {}),
    });
  }
  const out = reportFolder('check', values.out ?? (adapter ? `reports/check-${folderPart(adapter.name)}` : 'reports/check'));
  const selection = values.only?.length ? values.only.map((name) => `--only ${name}`).join(' ') : positionals.length ? 'scenario files given' : null;
  const charts = new Charts();
  const options: CheckOptions = { print: !values.json, jobs, shard, selection, charts };
  const report = adapter ? await checkAdapter(scenarios, adapter, expectations, output, options) : await check(scenarios, output, options);
  return finishReport(output, report, out, values.json, charts);
}

/** More jobs than this is a typo, not a machine. */
export const MAX_JOBS = 256;

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** `--shard i/n`: 1 ≤ i ≤ n. */
export function parseShard(value: string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_JOBS || index < 1 || index > count) {
    throw new InputError('leaksim check', 0, '--shard', `expected i/n with 1 ≤ i ≤ n ≤ ${MAX_JOBS} (e.g. 2/3), got ${JSON.stringify(value)}`);
  }
  return { index, count };
}

/** The runs of shard `index` of `count`: every count-th run of the plan, starting at index − 1. */
export function shardOf<T>(plan: readonly T[], shard: Shard | undefined): T[] {
  return shard ? plan.filter((_, position) => position % shard.count === shard.index - 1) : [...plan];
}

export function scenarioFiles(dir: string): string[] {
  let files: string[];
  try {
    files = scenarioFileNames(dir);
  } catch {
    throw new InputError(dir, 0, '', 'is not a readable folder of scenarios');
  }
  if (files.length === 0) throw new InputError(dir, 0, '', 'holds no scenario files (*.json)');
  return files.map((name) => join(dir, name));
}

/** The targets a scenario is judged against: those it states a verdict for. */
export function targetsOf(scenario: Scenario): string[] {
  const names = ['reference'];
  if (scenario.expect.baseline) names.push('baseline');
  if (scenario.expect.twin) names.push('twin');
  for (const flaw of FLAW_NAMES) if (scenario.expect.flaws[flaw]) names.push(`flaw:${flaw}`);
  return names;
}

export interface CheckOptions {
  /** Print a line per run and the flaw table (not with --json). */
  readonly print: boolean;
  /** Runs at once (see sim/runs/pool/run-pool.ts); default 1. */
  readonly jobs?: number;
  readonly shard?: Shard | undefined;
  /** What narrowed the scenarios from the full gate (`--only x`, `scenario files given`), or null. */
  readonly selection?: string | null;
  /**
   * With jobs > 1: report.html's charts, rendered scenario by scenario as their runs finish while
   * the rest run in child processes (sim/report/html/run-page.ts renderAsRunsFinish), then handed
   * to the page. With one job the runs share this process, and this thread, with the charts.
   */
  readonly charts?: Charts;
}

/** Early charts for the pool, when its runs go to child processes (see CheckOptions.charts). */
function poolCharts(plan: readonly PlannedRun[], options: CheckOptions): { onFinished?: (outcome: RunOutcome, index: number) => void } {
  const jobs = poolJobs(plan.length, options.jobs ?? 1);
  return options.charts && jobs > 1 ? { onFinished: renderAsRunsFinish(plan, jobs, options.charts) } : {};
}

/** Every run of the gate: each scenario × each target it expects a verdict for × each seed, in that order. */
export function checkPlan(scenarios: readonly Scenario[]): PlannedRun[] {
  return scenarios.flatMap((scenario) => targetsOf(scenario).flatMap((target) => scenario.seeds.map((seed) => ({ scenario, target, seed }))));
}

export async function check(scenarios: readonly Scenario[], output: Output, options: CheckOptions): Promise<Report> {
  const fullPlan = checkPlan(scenarios);
  const plan = shardOf(fullPlan, options.shard);
  // Targets are resolved here first, so that a bad adapter is bad input before any run starts.
  for (const target of new Set(plan.map((run) => run.target))) await resolveTarget(target);
  const outcomes = await runPlan(plan, {
    jobs: options.jobs ?? 1,
    ...poolCharts(plan, options),
    onOutcome: (outcome) => {
      output.progress('');
      if (options.print) printOutcome(output, outcome);
    },
    onProgress: output.interactive ? (progress) => output.progress(progressLine(progress)) : undefined,
  });
  output.progress('');
  const subset = options.shard !== undefined || (options.selection ?? null) !== null;
  const judged = subset ? FLAW_NAMES.filter((flaw) => outcomes.some((outcome) => outcome.target === `flaw:${flaw}`)) : FLAW_NAMES;
  const flaws = flawCoverage(outcomes, judged);
  const scope: ReportScope | undefined = subset
    ? {
        selection: options.selection ?? null,
        shard: options.shard ? { ...options.shard, planRuns: fullPlan.length, plan: planFingerprint(fullPlan) } : null,
        flawsNotJudged: FLAW_NAMES.filter((flaw) => !judged.includes(flaw)),
      }
    : undefined;
  if (options.print) printFlaws(output, flaws, scope);
  return { command: 'check', outcomes, flaws, ...(scope ? { scope } : {}) };
}

/** 16 hex digits of SHA-256 over the plan's runs (scenario, target, seed, in order): the same check gives the same fingerprint on every machine. */
export function planFingerprint(plan: readonly PlannedRun[]): string {
  return createHash('sha256')
    .update(plan.map((run) => `${run.scenario.name} ${run.target} ${run.seed}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
}

/** The one progress line of the whole gate: "check: 41/92 runs done · running heavy-month reference seed 1, …". */
function progressLine(progress: PoolProgress): string {
  const shown = progress.running.slice(0, PROGRESS_RUNS_SHOWN);
  const more = progress.running.length - shown.length;
  return `check: ${progress.done}/${progress.total} runs done${shown.length ? ` · running ${shown.join(', ')}${more ? ` and ${more} more` : ''}` : ''}`;
}

/** Runs named on the progress line; with many jobs the rest are counted, so the line fits a terminal. */
const PROGRESS_RUNS_SHOWN = 2;

export function printFlaws(output: Output, flaws: readonly FlawCoverage[], scope: ReportScope | undefined): void {
  const caught = flaws.filter((coverage) => coverage.caughtBy.length > 0).length;
  output.out(`flaws caught: ${caught}/${flaws.length}${scope ? ` (${scope.flawsNotJudged.length ? `not judged here, no run of this subset targets them: ${scope.flawsNotJudged.join(', ')}` : 'a subset of the gate; every flaw has a run in it'})` : ''}`);
  for (const coverage of flaws) {
    output.out(`  ${coverage.caughtBy.length ? '✓' : '✗'} ${coverage.flaw.padEnd(24)} ${coverage.caughtBy.map((by) => `${by.scenario} (${by.invariant})`).join(', ') || 'not caught by any scenario'}`);
  }
}

/**
 * `check --target`: every scenario against one adapter, for each of its seeds, each judged against
 * the expectation file (a scenario it does not name must pass). Runs like the gate's (`--jobs`,
 * `--shard`), each under the adapter's watchdog; an error of the adapter's code is bad input. No
 * flaw table: the flaws are leaksim's own.
 */
export async function checkAdapter(scenarios: readonly Scenario[], target: NamedTarget, expectations: Expectations, output: Output, options: CheckOptions): Promise<Report> {
  const fullPlan: PlannedRun[] = scenarios.flatMap((scenario) => scenario.seeds.map((seed) => ({ scenario, target: target.name, seed, expected: expectedFor(expectations, scenario.name, seed) })));
  const plan = shardOf(fullPlan, options.shard);
  const outcomes = await runPlan(plan, {
    jobs: options.jobs ?? 1,
    ...poolCharts(plan, options),
    onOutcome: (outcome) => {
      output.progress('');
      // An error of the adapter's code is reported below as bad input, not as a verdict line.
      if (options.print && !outcome.errorFromTargetCode) printOutcome(output, outcome);
    },
    onProgress: output.interactive ? (progress) => output.progress(progressLine(progress)) : undefined,
  });
  output.progress('');
  for (const outcome of outcomes) stopOnTargetCodeError('check', outcome);
  const subset = options.shard !== undefined || (options.selection ?? null) !== null;
  const scope: ReportScope | undefined = subset
    ? { selection: options.selection ?? null, shard: options.shard ? { ...options.shard, planRuns: fullPlan.length, plan: planFingerprint(fullPlan) } : null, flawsNotJudged: [], target: target.name }
    : undefined;
  return { command: 'check', outcomes, ...(scope ? { scope } : {}) };
}

/** `--only` names no scenario: which names are there, and, for a list in one flag, how to give several. */
function unknownScenarioText(unknown: readonly string[], names: readonly string[]): string {
  const list = unknown.find((name) => name.includes(',') && name.split(',').every((part) => names.includes(part.trim())));
  const how = list === undefined ? '' : `; --only takes one name and is repeatable: ${list.split(',').map((part) => `--only ${part.trim()}`).join(' ')}`;
  return `no scenario named ${unknown.join(', ')} (the scenarios: ${names.join(', ')})${how}`;
}
