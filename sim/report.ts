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

export interface Report {
  readonly command: string;
  readonly outcomes: readonly RunOutcome[];
  /** For `check`: which scenarios caught each flaw. */
  readonly flaws?: readonly FlawCoverage[];
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
      violated: violatedJson(outcome),
      ...(outcome.result?.warnings.length ? { warnings: outcome.result.warnings } : {}),
      hookEvents: outcome.result?.hookEvents ?? null,
      agentEvents: outcome.result?.agentEvents ?? null,
      totals: outcome.result?.totals ?? null,
      peaks: outcome.result?.peaks ?? null,
      reproduce: outcome.reproduce,
      ...declarationsJson(outcome),
      metrics: outcome.result ? `metrics/${metricsFileName(outcome)}` : null,
    })),
    flaws: (report.flaws ?? []).map((coverage) => ({ flaw: coverage.flaw, caughtBy: coverage.caughtBy })),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** Present only for a target that changed the judging: reports of leaksim's own targets stay as they were. */
function declarationsJson(outcome: RunOutcome): Record<string, unknown> {
  const { overriddenSettings, invariantsOff } = outcome.declarations;
  return {
    ...(Object.keys(overriddenSettings).length ? { overriddenSettings } : {}),
    ...(Object.keys(invariantsOff).length ? { invariantsOff } : {}),
  };
}

/** Every violated invariant with its count and first occurrence, in the order they first happened. */
export function violatedInvariants(outcome: RunOutcome): { invariant: string; count: number; first: Violation }[] {
  const result = outcome.result;
  if (!result) return [];
  const firsts = new Map<string, Violation>();
  for (const violation of result.violations) if (!firsts.has(violation.invariant)) firsts.set(violation.invariant, violation);
  return [...firsts].map(([invariant, first]) => ({ invariant, count: (result.violationCounts as Record<string, number>)[invariant] ?? 0, first }));
}

function violatedJson(outcome: RunOutcome): unknown[] {
  return violatedInvariants(outcome).map(({ invariant, count, first }) => ({ invariant, count, first: violationJson(first) }));
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
  const lines = [`# leaksim ${report.command}: ${headline(report, passed)}`,
    '',
    `${report.outcomes.length} run${report.outcomes.length === 1 ? '' : 's'}. A run passes when no invariant is violated; each is judged against the verdict its scenario expects.`,
    '',
    '| | scenario | target | seed | expected | got |',
    '|---|---|---|---|---|---|',
    ...report.outcomes.map((outcome) => {
      const mark = outcome.asExpected === false ? '❌' : outcome.asExpected === undefined ? (outcome.verdict === 'pass' ? '✅' : '❌') : '✅';
      return `| ${mark} | ${outcome.scenario} | ${outcome.target} | ${outcome.seed} | ${expectedText(outcome.expected)} | ${markdownCell(describeOutcome(outcome))} |`;
    }),
  ];
  lines.push(...declarationsMarkdown(report.outcomes));
  lines.push(...violationsMarkdown(report.outcomes));
  lines.push(...warningsMarkdown(report.outcomes));
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

/**
 * The headline: a run judged against an expectation is as expected or not; a run with no stated
 * expectation (run, replay, an adapter) passed or violated invariants, which is no "unexpected verdict".
 */
function headline(report: Report, passed: boolean): string {
  const judged = report.outcomes.filter((outcome) => outcome.asExpected !== undefined);
  const unexpected = judged.filter((outcome) => !outcome.asExpected).length;
  const violating = report.outcomes.filter((outcome) => outcome.asExpected === undefined && outcome.verdict !== 'pass').length;
  if (passed) return judged.length === report.outcomes.length ? 'all verdicts as expected' : judged.length ? 'all verdicts as expected, no invariant violated' : 'no invariant violated';
  const parts = [
    unexpected ? `${unexpected} unexpected verdict${unexpected === 1 ? '' : 's'}` : '',
    violating ? `${violating} run${violating === 1 ? '' : 's'} violating invariants` : '',
  ].filter(Boolean);
  return parts.join(', ') || 'failed';
}

/** Every violated invariant of every run that violated any: its count and first occurrence. */
function violationsMarkdown(outcomes: readonly RunOutcome[]): string[] {
  const runs = outcomes.filter((outcome) => violatedInvariants(outcome).length > 0);
  if (runs.length === 0) return [];
  const lines = ['', '## Violated invariants', '', 'Each violated invariant with how often it was violated and its first occurrence (a run that stopped early counts what it saw).', '', '| scenario | target | seed | invariant | count | first |', '|---|---|---|---|---|---|'];
  for (const outcome of runs) {
    for (const { invariant, count, first } of violatedInvariants(outcome)) {
      lines.push(`| ${outcome.scenario} | ${outcome.target} | ${outcome.seed} | ${invariant} | ${count} | ${markdownCell(`${formatSimTime(first.atMs)}: ${first.detail}`)} |`);
    }
  }
  return lines;
}

/** Node process warnings raised during the runs, counted by kind, with where each kind was first raised. */
function warningsMarkdown(outcomes: readonly RunOutcome[]): string[] {
  const runs = outcomes.filter((outcome) => outcome.result?.warnings.length);
  if (runs.length === 0) return [];
  const lines = ['', '## Process warnings', '', 'Warnings Node raised while the target ran (captured, not printed).', '', '| scenario | target | seed | warning | count | first raised at |', '|---|---|---|---|---|---|'];
  for (const outcome of runs) {
    for (const warning of outcome.result!.warnings) lines.push(`| ${outcome.scenario} | ${outcome.target} | ${outcome.seed} | ${warning.kind} | ${warning.count} | ${markdownCell(`${warning.message} (${warning.firstStackLine})`)} |`);
  }
  return lines;
}

/** What each target's declarations changed: settings it fixes itself and invariants it switched off, once per target. */
function declarationsMarkdown(outcomes: readonly RunOutcome[]): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const outcome of outcomes) {
    const { overriddenSettings, invariantsOff } = outcome.declarations;
    const settings = Object.entries(overriddenSettings).map(([field, { given, fixed }]) => `- setting \`${field}\` overridden by the target: ${fixed} (the run gave ${given}); the checker judged with ${fixed}`);
    const off = Object.entries(invariantsOff).map(([invariant, reason]) => `- invariant \`${invariant}\` switched off by the target: ${reason}`);
    const text = [...settings, ...off];
    const key = `${outcome.target}\n${text.join('\n')}`;
    if (text.length === 0 || seen.has(key)) continue;
    seen.add(key);
    lines.push('', `## Declared by ${outcome.target}${seen.size > 1 ? ` (${outcome.scenario})` : ''}`, '', ...text);
  }
  return lines;
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

const METRIC_COLUMNS: readonly (keyof MetricSample)[] = [
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

