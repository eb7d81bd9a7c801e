/**
 * `leaksim check --heap`: the heap gates at the edge. Runs heapCheck, prints a few lines per run
 * and the baseline comparison, writes reports/heap/, and with --update-baselines rewrites the
 * committed baselines. Exit 0 when every heap verdict is as expected and no baseline regressed,
 * 1 otherwise, 2 for bad input.
 */
import { InputError } from '../../src/input-error.ts';
import { DEFAULT_MARGIN_PERCENT, readBaselines, writeBaselines } from '../heap-analysis/baselines.ts';
import { heapCheck, heapScenarios, type HeapReport } from '../heap/gate.ts';
import { heapSummaryJson, runLines, writeHeapReports } from '../heap/report.ts';
import type { Scenario } from '../runs/scenario.ts';
import type { NamedTarget } from '../targets/targets.ts';
import type { Output } from './output.ts';
import { EXIT_GATE_FAILED, EXIT_OK } from './shared.ts';

export interface HeapCommandOptions {
  readonly out: string;
  readonly json: boolean;
  readonly baselinesFile: string;
  readonly updateBaselines: boolean;
  readonly keepSnapshots: boolean;
  /** `--target`: an adapter judged on every heap scenario instead of the built-in targets. */
  readonly target?: NamedTarget;
  /** Probes at once (`--jobs`); undefined: the gate's default. */
  readonly jobs?: number;
}

export async function heapCheckCommand(scenarios: readonly Scenario[], output: Output, options: HeapCommandOptions): Promise<number> {
  const marked = heapScenarios(scenarios);
  if (marked.length === 0) throw new InputError('leaksim check --heap', 0, '', 'none of the scenarios has a "heap" section');
  // Read (and so validate) the committed file before spending a minute on probes.
  const committed = readBaselines(options.baselinesFile);
  if (options.target && !options.target.description.heap) {
    throw new InputError(options.target.name, 0, 'description.heap', 'must be declared for the heap gate: { session: matcher, historyMessage: matcher } (see docs/targets.md)');
  }
  if (options.target && options.updateBaselines) throw new InputError('leaksim check --heap', 0, '--update-baselines', "does not apply with --target: the baselines are the reference's");
  const report = await heapCheck(marked, {
    ...(options.target ? { target: options.target } : {}),
    baselinesFile: options.baselinesFile,
    keepSnapshots: options.keepSnapshots,
    ...(options.jobs !== undefined ? { parallel: options.jobs } : {}),
    onRun: (run) => {
      output.progress('');
      if (!options.json) runLines(run).forEach((line) => output.out(line));
    },
    onProgress: output.interactive ? (done, total, running) => output.progress(`check --heap: ${done}/${total} probes done${running.length ? ` · running ${running.join(', ')}` : ''}`) : undefined,
  });
  output.progress('');
  if (!options.json && !options.target) printBaselines(output, report);
  writeHeapReports(options.out, report);
  if (options.updateBaselines) {
    const referenceFailed = report.runs.some((run) => run.target === 'reference' && !run.asExpected);
    if (referenceFailed) {
      output.err('leaksim: baselines not updated: a reference heap run failed; fix it first');
      return EXIT_GATE_FAILED;
    }
    writeBaselines(options.baselinesFile, report.measuredBaselines, committed?.marginPercent ?? DEFAULT_MARGIN_PERCENT);
    output.out(`baselines updated: ${options.baselinesFile}`);
  }
  if (options.json) output.out(heapSummaryJson(report).trimEnd());
  else output.out(`reports: ${options.out}/summary.md, summary.json`);
  const passed = options.updateBaselines ? report.runs.every((run) => run.asExpected) : report.passed;
  return passed ? EXIT_OK : EXIT_GATE_FAILED;
}

function printBaselines(output: Output, report: HeapReport): void {
  output.out(`heap-within-baseline (${report.baselinesFile}):`);
  for (const check of report.baselineChecks) output.out(`  ${check.passed ? '✓' : '✗'} ${check.scenario} ${check.measure}: ${check.detail}`);
  if (report.baselineChecks.length === 0) output.out('  (no reference bytes measured)');
}
