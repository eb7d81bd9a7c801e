/**
 * `leaksim check`: the CI gate. Every scenario against every target it states a verdict for
 * (reference, baseline, twin, and the flaws it names), for each of its seeds; then the flaw
 * table: every named flaw must be caught by at least one scenario.
 * Exit 0 when every verdict is as expected and every flaw is caught, 1 otherwise, 2 for bad input.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FLAW_NAMES } from '../../src/baseline/flaws.ts';
import { InputError } from '../../src/input-error.ts';
import type { FlawCoverage, Report } from '../report.ts';
import { runScenario, type RunOutcome } from '../run.ts';
import { runScenarioIsolated } from '../isolated/run.ts';
import { folderPart } from '../report-folder.ts';
import { loadScenario, type Scenario } from '../scenario.ts';
import { builtInTarget, resolveTarget, type NamedTarget } from '../targets.ts';
import { loadExpectations, type Expectations } from '../expect-file.ts';
import type { Verdict } from '../scenario.ts';
import { DEFAULT_BASELINES_FILE } from '../heap/baselines.ts';
import { DEFAULT_KEPT_SNAPSHOT_DIR } from '../heap/gate.ts';
import { heapCheckCommand } from './heap.ts';
import type { Output } from './output.ts';
import { EXIT_OK, finishReport, parseOptions, printOutcome, progressFor, reportFolder, stopOnTargetCodeError } from './shared.ts';

export const CHECK_HELP = `usage: leaksim check [scenario.json ...] [options]

The CI gate: runs every scenario (default: scenarios/*.json) against each target it expects a
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
  --out DIR     report folder (default reports/check; reports/heap with --heap); an existing
                folder is replaced only when leaksim wrote it
  --json        print summary.json to stdout instead of the readable lines

heap gates (see README, Heap gates):
  --heap               run the heap gates instead: every scenario with a "heap" section, each
                       target and seed in a child process with --expose-gc, heap snapshots read
                       with memlab (report folder default reports/heap)
  --baselines FILE     committed heap baselines (default ${DEFAULT_BASELINES_FILE})
  --update-baselines   rewrite the baselines file from this run (deliberately: npm run heap:update)
  --keep-snapshots     keep the .heapsnapshot files (in ${DEFAULT_KEPT_SNAPSHOT_DIR}/)`;

export const DEFAULT_SCENARIO_DIR = 'scenarios';

export async function checkCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('check', args, {
    only: { type: 'string', multiple: true },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
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
  const files = positionals.length ? positionals : scenarioFiles(DEFAULT_SCENARIO_DIR);
  let scenarios = files.map((file) => loadScenario(file));
  const expectations = values.expect === undefined ? new Map<string, Verdict>() : loadExpectations(values.expect, scenarios.map((scenario) => scenario.name));
  if (values.only?.length) {
    const unknown = values.only.filter((name) => !scenarios.some((scenario) => scenario.name === name));
    if (unknown.length) throw new InputError('leaksim check', 0, '--only', `no scenario named ${unknown.join(', ')}`);
    scenarios = scenarios.filter((scenario) => values.only!.includes(scenario.name));
  }
  const adapter = values.target === undefined ? undefined : await resolveTarget(values.target);
  if (values.heap) {
    if (values.expect !== undefined) throw new InputError('leaksim check --heap', 0, '--expect', 'does not apply to the heap gate: an adapter must pass every heap scenario');
    return heapCheckCommand(scenarios, output, {
      ...(adapter ? { target: adapter } : {}),
      out: reportFolder('check --heap', values.out ?? (adapter ? `reports/heap-${folderPart(adapter.name)}` : 'reports/heap')),
      json: values.json,
      baselinesFile: values.baselines ?? DEFAULT_BASELINES_FILE,
      updateBaselines: values['update-baselines'],
      keepSnapshots: values['keep-snapshots'],
    });
  }
  const out = reportFolder('check', values.out ?? (adapter ? `reports/check-${folderPart(adapter.name)}` : 'reports/check'));
  const report = adapter ? await checkAdapter(scenarios, adapter, expectations, output, !values.json) : await check(scenarios, output, !values.json);
  return finishReport(output, report, out, values.json);
}

export function scenarioFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new InputError(dir, 0, '', 'is not a readable folder of scenarios');
  }
  const files = names.filter((name) => name.endsWith('.json') && !name.endsWith('.schema.json')).sort();
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

export async function check(scenarios: readonly Scenario[], output: Output, print: boolean): Promise<Report> {
  const plan = scenarios.flatMap((scenario) => targetsOf(scenario).flatMap((target) => scenario.seeds.map((seed) => ({ scenario, target, seed }))));
  const outcomes: RunOutcome[] = [];
  for (const [index, { scenario, target, seed }] of plan.entries()) {
    const outcome = await runScenario(scenario, {
      target: builtInTarget(target)!,
      seed,
      stop: 'verdict',
      onProgress: progressFor(output, `[${index + 1}/${plan.length}] ${scenario.name} ${target} seed ${seed}`),
    });
    output.progress('');
    if (print) printOutcome(output, outcome);
    outcomes.push(outcome);
  }
  const flaws = flawCoverage(outcomes);
  if (print) {
    const caught = flaws.filter((coverage) => coverage.caughtBy.length > 0).length;
    output.out(`flaws caught: ${caught}/${flaws.length}`);
    for (const coverage of flaws) {
      output.out(`  ${coverage.caughtBy.length ? '✓' : '✗'} ${coverage.flaw.padEnd(24)} ${coverage.caughtBy.map((by) => `${by.scenario} (${by.invariant})`).join(', ') || 'not caught by any scenario'}`);
    }
  }
  return { command: 'check', outcomes, flaws };
}

/**
 * `check --target`: every scenario against one adapter, for each of its seeds, each judged against
 * the expectation file (a scenario it does not name must pass). No flaw table: the flaws are
 * leaksim's own.
 */
export async function checkAdapter(scenarios: readonly Scenario[], target: NamedTarget, expectations: Expectations, output: Output, print: boolean): Promise<Report> {
  const plan = scenarios.flatMap((scenario) => scenario.seeds.map((seed) => ({ scenario, seed })));
  const outcomes: RunOutcome[] = [];
  for (const [index, { scenario, seed }] of plan.entries()) {
    const outcome = await runScenarioIsolated(scenario, {
      target,
      seed,
      stop: 'verdict',
      expected: expectations.get(scenario.name) ?? { pass: true },
      onProgress: progressFor(output, `[${index + 1}/${plan.length}] ${scenario.name} ${target.name} seed ${seed}`),
    });
    output.progress('');
    stopOnTargetCodeError('check', outcome);
    if (print) printOutcome(output, outcome);
    outcomes.push(outcome);
  }
  return { command: 'check', outcomes };
}

/** For each flaw, the scenarios whose run of that flaw failed as expected, and on which invariant. */
export function flawCoverage(outcomes: readonly RunOutcome[]): FlawCoverage[] {
  return FLAW_NAMES.map((flaw) => {
    const caughtBy = new Map<string, string>();
    for (const outcome of outcomes) {
      if (outcome.target === `flaw:${flaw}` && outcome.verdict === 'fail' && outcome.asExpected && !caughtBy.has(outcome.scenario)) {
        const expected = outcome.expected && 'failsOn' in outcome.expected ? outcome.expected.failsOn : [];
        caughtBy.set(outcome.scenario, expected.join(' + '));
      }
    }
    return { flaw, caughtBy: [...caughtBy].map(([scenario, invariant]) => ({ scenario, invariant })) };
  });
}
