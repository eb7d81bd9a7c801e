/**
 * The heap gate's report: what `leaksim check --heap` leaves in reports/heap/.
 *   summary.json  every run: expected and actual heap verdict, findings, measures per checkpoint,
 *                 grown kinds and a retainer path; the baseline comparison
 *   summary.md    for people and CI job summaries
 *   junit.xml     for CI test tabs: one test case per run, one per baseline comparison
 * And the readable lines the command prints. Deterministic except for the probes' wall times,
 * which only the markdown footnote shows.
 */
import { xml } from '../report/report.ts';
import { formatSimTime } from '../engine/sim-time.ts';
import { writeReportFolder } from '../report/report-folder.ts';
import type { HeapReport, HeapRun } from './gate.ts';
import { MESSAGE_KIND, type CheckpointMeasure, type KindGrowth } from '../heap-analysis/measure.ts';
import { formatBytes } from '../heap-analysis/rule.ts';

export const HEAP_REPORT_FORMAT_VERSION = 1;
/** Grown kinds shown on the command line; the report files list all that were kept. */
export const GROWN_KINDS_PRINTED = 5;

export function heapSummaryJson(report: HeapReport): string {
  const body = {
    leaksimHeapReport: HEAP_REPORT_FORMAT_VERSION,
    result: report.passed ? 'pass' : 'fail',
    runs: report.runs.map((run) => ({
      scenario: run.scenario,
      target: run.target,
      seed: run.seed,
      expected: run.expected,
      verdict: run.verdict,
      asExpected: run.asExpected,
      limits: run.limits,
      findings: run.judgement?.findings ?? [],
      trends: run.judgement?.trends ?? [],
      invariants: run.probe ? { verdict: run.probe.invariantVerdict, violated: run.probe.invariantsViolated } : null,
      checkpoints: run.probe?.measures.map((measure) => ({ at: formatSimTime(measure.atMs), ...measure })) ?? [],
      grownKinds: run.probe?.grownKinds ?? [],
      retainerPath: run.probe?.retainerPath ?? null,
      error: run.error ?? null,
      reproduce: run.reproduce,
    })),
    baselines: { file: report.baselinesFile, measured: report.measuredBaselines, checks: report.baselineChecks },
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export function heapSummaryMarkdown(report: HeapReport): string {
  const unexpected = report.runs.filter((run) => !run.asExpected);
  const regressions = report.baselineChecks.filter((check) => !check.passed);
  const lines = [
    `# leaksim check --heap: ${report.passed ? 'all heap verdicts as expected' : `${unexpected.length} unexpected heap verdict${unexpected.length === 1 ? '' : 's'}, ${regressions.length} baseline failure${regressions.length === 1 ? '' : 's'}`}`,
    '',
    'Each run is a child process with --expose-gc: a heap snapshot at every checkpoint, read with memlab. Rules: session objects ≤ maxActiveSessions, history message objects ≤ maxActiveSessions × maxHistoryMessages + slack, and no measure growing in most consecutive checkpoints with a slope above its threshold (docs/heap.md, "The rules, and why").',
    '',
    '| | scenario | target | seed | expected | got | sessions | history messages | manager retained | total heap |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...report.runs.map((run) => {
      const first = run.probe?.measures[0];
      const last = run.probe?.measures.at(-1);
      const span = (pick: (measure: CheckpointMeasure) => string) => (first && last ? `${pick(first)} → ${pick(last)}` : '');
      return `| ${run.asExpected ? '✅' : '❌'} | ${run.scenario} | ${run.target} | ${run.seed} | ${run.expected} | ${cell(describeRun(run))} | ${span((m) => String(m.sessionObjects))} | ${span((m) => String(m.historyMessageObjects))} | ${managerMeasured(run.probe?.measures ?? []) ? span((m) => formatBytes(m.managerRetainedBytes)) : '–'} | ${span((m) => formatBytes(m.totalHeapBytes))} |`;
    }),
    '',
    '## Baselines (heap-within-baseline)',
    '',
    `The reference's retained bytes per session and per history message, held to ${report.baselinesFile}: more than the margin above a committed value fails.`,
    '',
    '| | scenario | measure | measured | committed | change |',
    '|---|---|---|---|---|---|',
    ...report.baselineChecks.map(
      (check) =>
        `| ${check.passed ? '✅' : '❌'} | ${check.scenario} | ${check.measure} | ${check.measured} B | ${check.committed === null ? 'none' : `${check.committed} B`} | ${check.changePercent === null ? cell(check.detail) : `${check.changePercent >= 0 ? '+' : ''}${check.changePercent.toFixed(1)}%`} |`,
    ),
  ];
  const failing = report.runs.filter((run) => run.verdict === 'fail');
  if (failing.length) lines.push('', '## Failing heap runs', '');
  for (const run of failing) {
    lines.push(`### ${run.scenario} · ${run.target} · seed ${run.seed}${run.asExpected ? ' (expected)' : ' (NOT expected)'}`, '');
    for (const finding of run.judgement?.findings ?? []) lines.push(`- **${finding.rule}**${finding.atMs === null ? '' : ` at ${formatSimTime(finding.atMs)}`}: ${finding.detail}`);
    lines.push('', 'Object kinds that grew, first judged checkpoint → last:', '', '| kind | objects | self size |', '|---|---|---|');
    for (const kind of run.probe?.grownKinds ?? []) lines.push(`| ${cell(kind.kind)} | ${kind.firstCount} → ${kind.lastCount} (+${kind.lastCount - kind.firstCount}) | ${formatBytes(kind.firstBytes)} → ${formatBytes(kind.lastBytes)} (+${formatBytes(kind.lastBytes - kind.firstBytes)}) |`);
    const path = run.probe?.retainerPath;
    lines.push('', path ? `Retainer path of ${path.object}, in memory since the checkpoint at ${formatSimTime(path.heldSinceMs)}, held through ${path.heldThrough} (memlab, GC root first):` : 'No session object qualified for a retainer path: none was in memory from the first judged checkpoint to the last, and none was held outside the manager\'s session maps.', '');
    if (path) lines.push('```', path.text, '```', '');
    lines.push(`Reproduce: \`${run.reproduce}\``, '');
  }
  const errors = report.runs.filter((run) => run.error);
  if (errors.length) {
    lines.push('', '## Errors', '');
    for (const run of errors) lines.push(`- ${run.scenario} / ${run.target} / seed ${run.seed}: ${cell(run.error!)}`);
  }
  const probes = report.runs.filter((run) => run.probe);
  if (probes.length) {
    const snapshotBytes = probes.flatMap((run) => run.probe!.measures.map((measure) => measure.snapshotBytes));
    lines.push('', `_${probes.length} probes, ${snapshotBytes.length} snapshots of at most ${formatBytes(Math.max(...snapshotBytes))}; slowest probe ${(Math.max(...probes.map((run) => run.probe!.simulateMs + run.probe!.analyseMs)) / 1000).toFixed(1)} s._`);
  }
  return `${lines.join('\n')}\n`;
}

export function describeRun(run: HeapRun): string {
  if (run.error) return `error: ${run.error}`;
  const findings = run.judgement?.findings ?? [];
  if (findings.length === 0) return 'heap pass';
  return `heap fail: ${findings.map((finding) => `${finding.rule} (${finding.detail})`).join('; ')}`;
}

/**
 * Whether the snapshots found the target's manager object at all (leaksim's own managers; an
 * adapter's manager class is not known to the probe): a figure never measured is not printed as 0 B.
 */
function managerMeasured(measures: readonly CheckpointMeasure[]): boolean {
  return measures.some((measure) => measure.managerRetainedBytes > 0);
}

/** The lines the command prints for one run. */
export function runLines(run: HeapRun): string[] {
  const expectation = run.asExpected ? ' (as expected)' : ' (NOT as expected)';
  const lines = [`${run.asExpected ? '✓' : '✗'} ${run.scenario} · ${run.target} · seed ${run.seed}: ${describeRun(run)}${expectation}`];
  const measures = run.probe?.measures;
  if (measures?.length) {
    const first = measures[0]!;
    const last = measures.at(-1)!;
    lines.push(
      `    ${measures.length} checkpoints: sessions ${first.sessionObjects} → ${last.sessionObjects}, history messages ${first.historyMessageObjects} → ${last.historyMessageObjects}${managerMeasured(measures) ? `, manager ${formatBytes(first.managerRetainedBytes)} → ${formatBytes(last.managerRetainedBytes)}` : ''}, heap ${formatBytes(first.totalHeapBytes)} → ${formatBytes(last.totalHeapBytes)}`,
    );
  }
  if (run.verdict === 'fail' && run.probe) {
    lines.push(`    grew: ${run.probe.grownKinds.slice(0, GROWN_KINDS_PRINTED).map(kindText).join(', ') || 'nothing'}`);
    const path = run.probe.retainerPath;
    if (path) {
      lines.push(`    retainer path of ${path.object} (in memory since ${formatSimTime(path.heldSinceMs)}, held through ${path.heldThrough}):`);
      for (const line of path.text.split('\n')) lines.push(`      ${line}`);
    }
  }
  if (!run.asExpected) lines.push(`    reproduce: ${run.reproduce}`);
  return lines;
}

export function kindText(kind: KindGrowth): string {
  const name = kind.kind === MESSAGE_KIND ? 'history messages' : kind.kind;
  return `${name} ${kind.firstCount} → ${kind.lastCount} (+${formatBytes(kind.lastBytes - kind.firstBytes)})`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** JUnit XML with the same ✓/✗ as the lines and summary.md: a run fails when it is not as expected. */
export function heapJunitXml(report: HeapReport): string {
  const byScenario = new Map<string, HeapRun[]>();
  for (const run of report.runs) byScenario.set(run.scenario, [...(byScenario.get(run.scenario) ?? []), run]);
  const failures = report.runs.filter((run) => !run.asExpected).length + report.baselineChecks.filter((check) => !check.passed).length;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="leaksim check --heap" tests="${report.runs.length + report.baselineChecks.length}" failures="${failures}">`];
  for (const [scenario, runs] of byScenario) {
    lines.push(`  <testsuite name="${xml(scenario)}" tests="${runs.length}" failures="${runs.filter((run) => !run.asExpected).length}">`);
    for (const run of runs) {
      const name = `${run.target} seed ${run.seed} expects heap ${run.expected}`;
      if (run.asExpected) lines.push(`    <testcase classname="leaksim.heap.${xml(scenario)}" name="${xml(name)}"/>`);
      else lines.push(`    <testcase classname="leaksim.heap.${xml(scenario)}" name="${xml(name)}">`, `      <failure message="${xml(`got ${describeRun(run)}`)}">${xml(`reproduce: ${run.reproduce}`)}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  const checks = report.baselineChecks;
  lines.push(`  <testsuite name="heap-within-baseline" tests="${checks.length}" failures="${checks.filter((check) => !check.passed).length}">`);
  for (const check of checks) {
    const name = `${check.scenario} ${check.measure}`;
    if (check.passed) lines.push(`    <testcase classname="leaksim.heap.baseline" name="${xml(name)}"/>`);
    else lines.push(`    <testcase classname="leaksim.heap.baseline" name="${xml(name)}">`, `      <failure message="${xml(check.detail)}"/>`, '    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return `${lines.join('\n')}\n`;
}

/** Writes the report folder (see sim/report/report-folder.ts). */
export function writeHeapReports(dir: string, report: HeapReport): void {
  writeReportFolder(dir, { 'summary.json': heapSummaryJson(report), 'summary.md': heapSummaryMarkdown(report), 'junit.xml': heapJunitXml(report) }, { command: 'leaksim check --heap', flag: '--out' });
}
