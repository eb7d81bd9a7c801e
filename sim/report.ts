/**
 * Reports: what a run leaves in reports/<run>/.
 *   summary.json  machine-readable: every run, its verdict, trace hash, first violation, totals
 *   summary.md    for people and CI job summaries
 *   junit.xml     for CI test tabs: one test case per scenario × target × seed
 *   metrics/      one CSV of sampled metrics per run
 * Deterministic: fixed key order, no wall-clock times, so the same runs give the same bytes. The
 * folder is written beside its destination and renamed into place: never half a report.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FlawName } from '../src/baseline/flaws.ts';
import type { MetricSample } from './driver.ts';
import { formatMs, type Violation } from './invariants.ts';
import type { RunOutcome } from './run.ts';
import type { Verdict } from './scenario.ts';
import { DAY_MS } from './traffic.ts';

export const REPORT_FORMAT_VERSION = 1;

export interface FlawCoverage {
  readonly flaw: FlawName;
  readonly caughtBy: readonly { readonly scenario: string; readonly invariant: string }[];
}

/**
 * What a `check` covered when it was less than the full gate: a selection of scenarios (`--only`,
 * files given) and/or one shard of the runs (`--shard i/n`). Flaw coverage is judged only over the
 * flaws its runs target; the others are named as not judged here (a run that includes them judges
 * them). Absent for the full gate, whose reports are unchanged by this field.
 */
export interface ReportScope {
  /** What narrowed the scenarios (`--only steady-week`, `scenario files given`), or null. */
  readonly selection: string | null;
  /**
   * Shard `index` of `count` (1-based), how many runs the whole, unsharded check has, and a
   * fingerprint of that whole plan (its scenario, target and seed list), so that `merge` joins
   * only shards of one check.
   */
  readonly shard: { readonly index: number; readonly count: number; readonly planRuns: number; readonly plan: string } | null;
  readonly flawsNotJudged: readonly FlawName[];
}

export interface Report {
  readonly command: string;
  readonly outcomes: readonly RunOutcome[];
  /** For `check`: which scenarios caught each flaw (each judged flaw; see `scope`). */
  readonly flaws?: readonly FlawCoverage[];
  /** For a `check` that was a subset of the full gate. */
  readonly scope?: ReportScope;
}

/** The report's overall result: every run as expected (runs without an expectation must pass). */
export function reportPassed(report: Report): boolean {
  const runsOk = report.outcomes.every((outcome) => (outcome.asExpected === undefined ? outcome.verdict === 'pass' : outcome.asExpected));
  const flawsOk = (report.flaws ?? []).every((coverage) => coverage.caughtBy.length > 0);
  return runsOk && flawsOk;
}

/** "day 2 14:03:11.250": a run time as people read it (day 0 is the first Monday). */
export function formatSimTime(atMs: number): string {
  const day = Math.floor(atMs / DAY_MS);
  const ms = atMs - day * DAY_MS;
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const time = `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1_000) % 60)}`;
  return `day ${day} ${time}${ms % 1_000 ? `.${pad(ms % 1_000, 3)}` : ''}`;
}

export function metricsFileName(outcome: RunOutcome): string {
  return `${outcome.scenario}--${outcome.target.replace(/[^\w.-]+/g, '_')}--seed${outcome.seed}.csv`;
}

export function summaryJson(report: Report): string {
  const body = {
    leaksimReport: REPORT_FORMAT_VERSION,
    command: report.command,
    result: reportPassed(report) ? 'pass' : 'fail',
    runs: report.outcomes.map((outcome) => ({
      scenario: outcome.scenario,
      target: outcome.target,
      seed: outcome.seed,
      days: outcome.days,
      expected: outcome.expected ? verdictJson(outcome.expected) : null,
      verdict: outcome.verdict,
      asExpected: outcome.asExpected ?? null,
      traceHash: outcome.result?.traceHash ?? null,
      firstViolation: outcome.firstViolation ? violationJson(outcome.firstViolation) : null,
      error: outcome.error ?? null,
      violationCounts: outcome.result?.violationCounts ?? {},
      hookEvents: outcome.result?.hookEvents ?? null,
      agentEvents: outcome.result?.agentEvents ?? null,
      totals: outcome.result?.totals ?? null,
      peaks: outcome.result?.peaks ?? null,
      reproduce: outcome.reproduce,
      metrics: outcome.result ? `metrics/${metricsFileName(outcome)}` : null,
    })),
    flaws: (report.flaws ?? []).map((coverage) => ({ flaw: coverage.flaw, caughtBy: coverage.caughtBy })),
    ...(report.scope ? { scope: { selection: report.scope.selection, shard: report.scope.shard, flawsNotJudged: report.scope.flawsNotJudged } } : {}),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

function verdictJson(verdict: Verdict): unknown {
  return 'pass' in verdict ? 'pass' : { failsOn: verdict.failsOn };
}

function violationJson(violation: Violation): unknown {
  return {
    invariant: violation.invariant,
    atMs: violation.atMs,
    at: formatSimTime(violation.atMs),
    sessionDbId: violation.sessionDbId ?? null,
    detail: violation.detail,
  };
}

export function describeOutcome(outcome: RunOutcome): string {
  if (outcome.error) return `error: ${outcome.error}`;
  const violation = outcome.firstViolation;
  if (!violation) return 'pass';
  return `${violation.invariant} at ${formatSimTime(violation.atMs)}: ${violation.detail}`;
}

function expectedText(verdict: Verdict | undefined): string {
  if (!verdict) return '(none)';
  return 'pass' in verdict ? 'pass' : `fails on ${verdict.failsOn.join(' and ')}`;
}

export function summaryMarkdown(report: Report): string {
  const passed = reportPassed(report);
  const unexpected = report.outcomes.filter((outcome) => outcome.asExpected === false || (outcome.asExpected === undefined && outcome.verdict !== 'pass'));
  const uncaught = (report.flaws ?? []).filter((coverage) => coverage.caughtBy.length === 0).length;
  const problems = [
    ...(unexpected.length || !uncaught ? [`${unexpected.length} unexpected verdict${unexpected.length === 1 ? '' : 's'}`] : []),
    ...(uncaught ? [`${uncaught} flaw${uncaught === 1 ? '' : 's'} not caught`] : []),
  ];
  const lines = [
    `# leaksim ${report.command}: ${passed ? 'all verdicts as expected' : problems.join(', ')}`,
    '',
    `${report.outcomes.length} runs. A run passes when no invariant is violated; each is judged against the verdict its scenario expects.`,
    ...(report.scope ? ['', scopeText(report.scope, report.flaws?.length ?? 0)] : []),
    '',
    '| | scenario | target | seed | expected | got |',
    '|---|---|---|---|---|---|',
    ...report.outcomes.map((outcome) => {
      const mark = outcome.asExpected === false ? '❌' : outcome.asExpected === undefined ? (outcome.verdict === 'pass' ? '✅' : '❌') : '✅';
      return `| ${mark} | ${outcome.scenario} | ${outcome.target} | ${outcome.seed} | ${expectedText(outcome.expected)} | ${markdownCell(describeOutcome(outcome))} |`;
    }),
  ];
  if (report.flaws?.length) {
    lines.push('', '## Flaws caught', '', 'Each named flaw of the leaky baseline must be caught by at least one scenario.', '', '| flaw | caught by |', '|---|---|');
    for (const coverage of report.flaws) {
      const by = coverage.caughtBy.map((catcher) => `${catcher.scenario} (${catcher.invariant})`).join(', ');
      lines.push(`| ${coverage.flaw} | ${by || '❌ not caught'} |`);
    }
  }
  if (unexpected.length) {
    lines.push('', '## Reproduce', '');
    for (const outcome of unexpected) lines.push(`- ${outcome.scenario} / ${outcome.target} / seed ${outcome.seed}: \`${outcome.reproduce}\``);
  }
  return `${lines.join('\n')}\n`;
}

/** One paragraph: what part of the gate this was, and over which flaws coverage was judged. */
export function scopeText(scope: ReportScope, judgedFlaws: number): string {
  const part = [
    ...(scope.shard ? [`shard ${scope.shard.index}/${scope.shard.count} of ${scope.shard.planRuns} runs`] : []),
    ...(scope.selection ? [`scenarios narrowed by ${scope.selection}`] : []),
  ].join('; ');
  const notJudged = scope.flawsNotJudged.length ? ` Not judged here, as no run of this subset targets them: ${scope.flawsNotJudged.join(', ')}.` : '';
  return `A subset of the gate (${part}). Flaw coverage is judged over the ${judgedFlaws} flaw${judgedFlaws === 1 ? '' : 's'} its runs target.${notJudged}`;
}

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function junitXml(report: Report): string {
  const byScenario = new Map<string, RunOutcome[]>();
  for (const outcome of report.outcomes) byScenario.set(outcome.scenario, [...(byScenario.get(outcome.scenario) ?? []), outcome]);
  const failed = (outcome: RunOutcome) => outcome.asExpected === false || (outcome.asExpected === undefined && outcome.verdict !== 'pass');
  const total = report.outcomes.length;
  const failures = report.outcomes.filter(failed).length;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="leaksim ${xml(report.command)}" tests="${total}" failures="${failures}">`];
  for (const [scenario, outcomes] of byScenario) {
    lines.push(`  <testsuite name="${xml(scenario)}" tests="${outcomes.length}" failures="${outcomes.filter(failed).length}">`);
    for (const outcome of outcomes) {
      const name = `${outcome.target} seed ${outcome.seed} expects ${expectedText(outcome.expected)}`;
      if (!failed(outcome)) {
        lines.push(`    <testcase classname="leaksim.${xml(scenario)}" name="${xml(name)}"/>`);
        continue;
      }
      lines.push(`    <testcase classname="leaksim.${xml(scenario)}" name="${xml(name)}">`);
      lines.push(`      <failure message="${xml(`got ${describeOutcome(outcome)}`)}">${xml(`reproduce: ${outcome.reproduce}`)}</failure>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export const METRIC_COLUMNS: readonly (keyof MetricSample)[] = [
  'atMs',
  'activeSessions',
  'generatorsRunning',
  'historyMessages',
  'historyChars',
  'pending',
  'timers',
  'listeners',
  'refusedSessions',
  'evictions',
  'expirations',
  'trimmedMessages',
];

export function metricsCsv(samples: readonly MetricSample[]): string {
  const rows = [['at', ...METRIC_COLUMNS].join(',')];
  for (const sample of samples) rows.push([formatSimTime(sample.atMs), ...METRIC_COLUMNS.map((column) => String(sample[column]))].join(','));
  return `${rows.join('\n')}\n`;
}

/** Writes the whole report folder, replacing `dir` only once everything is written. */
export function writeReports(dir: string, report: Report): void {
  const staging = join(dirname(dir), `.${basename(dir)}.partial`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'metrics'), { recursive: true });
  try {
    writeFileSync(join(staging, 'summary.json'), summaryJson(report));
    writeFileSync(join(staging, 'summary.md'), summaryMarkdown(report));
    writeFileSync(join(staging, 'junit.xml'), junitXml(report));
    for (const outcome of report.outcomes) {
      if (outcome.result) writeFileSync(join(staging, 'metrics', metricsFileName(outcome)), metricsCsv(outcome.result.samples));
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

