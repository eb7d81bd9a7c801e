/**
 * Reports: what a run leaves in reports/<run>/.
 *   summary.json  machine-readable: every run, its verdict, trace hash, first violation, totals
 *   summary.md    for people and CI job summaries
 *   junit.xml     for CI test tabs: one test case per scenario × target × seed
 *   metrics/      one CSV of sampled metrics per run
 * Deterministic: fixed key order, no wall-clock times, so the same runs give the same bytes. The
 * folder is written beside its destination and renamed into place: never half a report, and never
 * over anything leaksim did not write (sim/report/report-folder.ts).
 */
import { FLAW_NAMES, type FlawName } from '../../src/baseline/flaws.ts';
import { describeSettings, megabytes, retainedBytes, settingsJson, type MemoryModel, type RunCosts } from '../check/costs.ts';
import { memoryModel } from '../heap-analysis/memory-model.ts';
import type { MetricSample } from '../runs/driver.ts';
import { writeReportFolder } from './report-folder.ts';
import { type Violation } from '../check/invariants.ts';
import { formatMs, formatSimTime } from '../engine/sim-time.ts';
import type { RunOutcome } from '../runs/run.ts';
import type { Verdict } from '../runs/scenario.ts';
import { DAY_MS } from '../engine/traffic.ts';

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
  /** The adapter a `check --target` judged: its report has no flaw table. */
  readonly target?: string;
}

export interface Report {
  readonly command: string;
  /**
   * What a run's ✓/✗ (and the exit code) follows: the scenario's expectation (`check`, the
   * default), or the invariants alone (`run`, `replay`: a violation is ✗, with the expectation
   * shown beside it as "(as expected)" or "(NOT as expected)").
   */
  readonly judgedBy?: 'expectation' | 'invariants';
  readonly outcomes: readonly RunOutcome[];
  /** For `check`: which scenarios caught each flaw (each judged flaw; see `scope`). */
  readonly flaws?: readonly FlawCoverage[];
  /** For a `check` that was a subset of the full gate. */
  readonly scope?: ReportScope;
}

/**
 * The one ✓/✗ rule, used by the terminal lines, summary.md, summary.json and junit.xml alike.
 * An error is never ✓; a run without an expectation must pass.
 */
export function outcomePassed(outcome: RunOutcome, judgedBy: Report['judgedBy'] = 'expectation'): boolean {
  if (outcome.verdict === 'error') return false;
  if (judgedBy === 'invariants' || outcome.asExpected === undefined) return outcome.verdict === 'pass';
  return outcome.asExpected;
}

/** " (as expected)", " (NOT as expected)", or nothing when the scenario states no expectation: the same words everywhere. */
export function expectationNote(outcome: RunOutcome): string {
  return outcome.asExpected === undefined ? '' : outcome.asExpected ? ' (as expected)' : ' (NOT as expected)';
}

/** One run's verdict line, as the terminal prints it and report.html repeats it: "✗ steady-week · baseline · seed 1: … (as expected)". */
export function outcomeLine(outcome: RunOutcome, judgedBy: Report['judgedBy'] = 'expectation'): string {
  return `${outcomePassed(outcome, judgedBy) ? '✓' : '✗'} ${outcome.scenario} · ${outcome.target} · seed ${outcome.seed}: ${describeOutcome(outcome)}${expectationNote(outcome)}`;
}

/** The report's overall result: every run ✓ and every flaw caught. */
export function reportPassed(report: Report): boolean {
  const runsOk = report.outcomes.every((outcome) => outcomePassed(outcome, report.judgedBy));
  const flawsOk = (report.flaws ?? []).every((coverage) => coverage.caughtBy.length > 0);
  return runsOk && flawsOk;
}

export function metricsFileName(outcome: RunOutcome): string {
  return `${outcome.scenario}--${outcome.target.replace(/[^\w.-]+/g, '_')}--seed${outcome.seed}.csv`;
}

export function summaryJson(report: Report): string {
  const body = {
    leaksimReport: REPORT_FORMAT_VERSION,
    command: report.command,
    result: reportPassed(report) ? 'pass' : 'fail',
    judgedBy: report.judgedBy ?? 'expectation',
    runs: report.outcomes.map((outcome) => ({
      passed: outcomePassed(outcome, report.judgedBy),
      scenario: outcome.scenario,
      target: outcome.target,
      seed: outcome.seed,
      days: outcome.days,
      settings: settingsJson(outcome.settings),
      expected: outcome.expected ? verdictJson(outcome.expected) : null,
      verdict: outcome.verdict,
      asExpected: outcome.asExpected ?? null,
      traceHash: outcome.result?.traceHash ?? null,
      firstViolation: outcome.firstViolation ? violationJson(outcome.firstViolation) : null,
      expectedViolations: expectedViolations(outcome).map(violationJson),
      error: outcome.error ?? null,
      violationCounts: outcome.result?.violationCounts ?? {},
      violated: violatedJson(outcome),
      ...(outcome.result?.warnings.length ? { warnings: outcome.result.warnings } : {}),
      hookEvents: outcome.result?.hookEvents ?? null,
      agentEvents: outcome.result?.agentEvents ?? null,
      totals: outcome.result?.totals ?? null,
      peaks: outcome.result?.peaks ?? null,
      endMs: outcome.result?.endMs ?? null,
      stoppedEarly: outcome.result?.stoppedEarly ?? null,
      costs: outcome.costs ? costsJson(outcome.costs) : null,
      reproduce: outcome.reproduce,
      ...declarationsJson(outcome),
      metrics: outcome.result ? `metrics/${metricsFileName(outcome)}` : null,
    })),
    flaws: (report.flaws ?? []).map((coverage) => ({ flaw: coverage.flaw, caughtBy: coverage.caughtBy })),
    ...(report.scope ? { scope: { selection: report.scope.selection, shard: report.scope.shard, flawsNotJudged: report.scope.flawsNotJudged, ...(report.scope.target !== undefined ? { target: report.scope.target } : {}) } } : {}),
    memoryModel: memoryModelJson(memoryModel()),
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
  // A run its target stopped (a target fault, see sim/runs/run.ts) has no result, only its one violation.
  if (!result) return outcome.firstViolation ? [{ invariant: outcome.firstViolation.invariant, count: 1, first: outcome.firstViolation }] : [];
  const firsts = new Map<string, Violation>();
  for (const violation of result.violations) if (!firsts.has(violation.invariant)) firsts.set(violation.invariant, violation);
  return [...firsts].map(([invariant, first]) => ({ invariant, count: (result.violationCounts as Record<string, number>)[invariant] ?? 0, first }));
}

function violatedJson(outcome: RunOutcome): unknown[] {
  return violatedInvariants(outcome).map(({ invariant, count, first }) => ({ invariant, count, first: violationJson(first) }));
}

function costsJson(costs: RunCosts): unknown {
  return {
    memory: { peakBytes: costs.memory.peakBytes, p95Bytes: costs.memory.p95Bytes },
    contextLost: costs.contextLost,
    workRefused: costs.workRefused,
  };
}

export function memoryModelJson(model: MemoryModel): unknown {
  return { bytesPerSession: model.bytesPerSession, bytesPerHistoryMessage: model.bytesPerHistoryMessage, source: model.source };
}

/** The costs table of summary.md: one row per run, with the settings it used. */
export function costsMarkdown(outcomes: readonly RunOutcome[]): string[] {
  const lines = [
    '## Costs',
    '',
    `Memory is modelled: ${memoryModel().bytesPerSession} B per session plus ${memoryModel().bytesPerHistoryMessage} B per history message (${memoryModel().source}). Context lost: cold resumes (a hook re-creating a session that was expired or evicted while its conversation went on), the messages those sessions' histories held, and trimmed messages. Work refused: sessions refused at the cap. See docs/tune.md.`,
    '',
    '| scenario | target | seed | settings | peak MB | p95 MB | cold resumes | lost messages (dropped + trimmed) | refused |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const outcome of outcomes) {
    const costs = outcome.costs;
    const cells = costs
      ? [megabytes(costs.memory.peakBytes), megabytes(costs.memory.p95Bytes), costs.contextLost.coldResumes, `${costs.contextLost.lostMessages} (${costs.contextLost.droppedHistoryMessages} + ${costs.contextLost.trimmedMessages})`, costs.workRefused.refusedSessions]
      : ['–', '–', '–', '–', '–'];
    lines.push(`| ${outcome.scenario} | ${outcome.target} | ${outcome.seed} | ${describeSettings(outcome.settings)} | ${cells.join(' | ')} |`);
  }
  return lines;
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

/**
 * What a run got. When the scenario expects failures and the first violation overall is not one of
 * them, the earliest violation of an expected invariant leads and the first overall follows, so the
 * "got" column never shows a different invariant beside a ✓.
 */
export function describeOutcome(outcome: RunOutcome): string {
  if (outcome.error) return `error: ${outcome.error}`;
  const violation = outcome.firstViolation;
  if (!violation) return 'pass';
  const expected = expectedViolations(outcome);
  if (expected.length === 0 || expected.some((seen) => seen.invariant === violation.invariant)) return violationText(violation);
  const earliest = expected.reduce((first, seen) => (seen.atMs < first.atMs ? seen : first));
  return `${violationText(earliest)} (first violation overall: ${violationText(violation)})`;
}

function violationText(violation: Violation): string {
  return `${violation.invariant} at ${formatSimTime(violation.atMs)}: ${violation.detail}`;
}

/** The first violation of each invariant the scenario expects this target to fail on, that was seen. */
export function expectedViolations(outcome: RunOutcome): Violation[] {
  const expected = outcome.expected;
  if (!expected || !('failsOn' in expected)) return [];
  if (!outcome.result) return outcome.firstViolation && expected.failsOn.includes(outcome.firstViolation.invariant) ? [outcome.firstViolation] : [];
  return expected.failsOn.flatMap((invariant) => outcome.result!.violations.find((violation) => violation.invariant === invariant) ?? []);
}

function expectedText(verdict: Verdict | undefined): string {
  if (!verdict) return '(none)';
  return 'pass' in verdict ? 'pass' : `fails on ${verdict.failsOn.join(' and ')}`;
}

/**
 * The report's one-line verdict, "✓ all verdicts as expected", "✗ 1 run of 1 failed": the heading
 * of summary.md and of report.html, in the same words.
 */
export function reportHeadline(report: Report): string {
  const passed = reportPassed(report);
  const failed = report.outcomes.filter((outcome) => !outcomePassed(outcome, report.judgedBy));
  const uncaught = (report.flaws ?? []).filter((coverage) => coverage.caughtBy.length === 0).length;
  const byInvariants = report.judgedBy === 'invariants';
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const problems = [
    ...(failed.length || !uncaught ? [plural(failed.length, 'unexpected verdict')] : []),
    ...(uncaught ? [`${plural(uncaught, 'flaw')} not caught`] : []),
  ];
  const headline = byInvariants
    ? passed
      ? 'no invariant violated'
      : `${plural(failed.length, 'run')} of ${report.outcomes.length} failed`
    : passed
      ? 'all verdicts as expected'
      : problems.join(', ');
  return `${passed ? '✓' : '✗'} ${headline}`;
}

export function summaryMarkdown(report: Report): string {
  const failed = report.outcomes.filter((outcome) => !outcomePassed(outcome, report.judgedBy));
  const byInvariants = report.judgedBy === 'invariants';
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const rule = byInvariants
    ? 'A run passes (✅) when no invariant is violated; the verdict its scenario expects is shown beside it.'
    : 'A run passes (✅) when its verdict is the one its scenario expects.';
  const lines = [
    `# leaksim ${report.command}: ${reportHeadline(report)}`,
    '',
    `${plural(report.outcomes.length, 'run')}. ${rule}`,
    ...(report.scope ? ['', scopeText(report.scope, report.flaws?.length ?? 0)] : []),
    '',
    '| | scenario | target | seed | expected | got |',
    '|---|---|---|---|---|---|',
    ...report.outcomes.map((outcome) => {
      const mark = outcomePassed(outcome, report.judgedBy) ? '✅' : '❌';
      return `| ${mark} | ${outcome.scenario} | ${outcome.target} | ${outcome.seed} | ${expectedText(outcome.expected)} | ${markdownCell(describeOutcome(outcome) + expectationNote(outcome))} |`;
    }),
  ];
  lines.push(...declarationsMarkdown(report.outcomes));
  lines.push(...violationsMarkdown(report.outcomes));
  lines.push(...warningsMarkdown(report.outcomes));
  lines.push('', ...costsMarkdown(report.outcomes));
  if (report.flaws?.length) {
    lines.push('', '## Flaws caught', '', 'Each named flaw of the leaky baseline must be caught by at least one scenario.', '', '| flaw | caught by |', '|---|---|');
    for (const coverage of report.flaws) {
      const by = coverage.caughtBy.map((catcher) => `${catcher.scenario} (${catcher.invariant})`).join(', ');
      lines.push(`| ${coverage.flaw} | ${by || '❌ not caught'} |`);
    }
  }
  if (failed.length) {
    lines.push('', '## Reproduce', '');
    for (const outcome of failed) lines.push(`- ${outcome.scenario} / ${outcome.target} / seed ${outcome.seed}: \`${outcome.reproduce}\``);
  }
  return `${lines.join('\n')}\n`;
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

/** One paragraph: what part of the gate this was, and over which flaws coverage was judged. */
export function scopeText(scope: ReportScope, judgedFlaws: number): string {
  const part = [
    ...(scope.shard ? [`shard ${scope.shard.index}/${scope.shard.count} of ${scope.shard.planRuns} runs`] : []),
    ...(scope.selection ? [`scenarios narrowed by ${scope.selection}`] : []),
  ].join('; ');
  if (scope.target !== undefined) return `A subset of the check of ${scope.target} (${part}).`;
  const notJudged = scope.flawsNotJudged.length ? ` Not judged here, as no run of this subset targets them: ${scope.flawsNotJudged.join(', ')}.` : '';
  return `A subset of the gate (${part}). Flaw coverage is judged over the ${judgedFlaws} flaw${judgedFlaws === 1 ? '' : 's'} its runs target.${notJudged}`;
}

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function junitXml(report: Report): string {
  const byScenario = new Map<string, RunOutcome[]>();
  for (const outcome of report.outcomes) byScenario.set(outcome.scenario, [...(byScenario.get(outcome.scenario) ?? []), outcome]);
  const failed = (outcome: RunOutcome) => !outcomePassed(outcome, report.judgedBy);
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
      lines.push(`      <failure message="${xml(`got ${describeOutcome(outcome)}${expectationNote(outcome)}`)}">${xml(`reproduce: ${outcome.reproduce}`)}</failure>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

export function xml(text: string): string {
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
  'coldResumes',
];

/**
 * Rows one metrics file may hold: a year sampled every 15 minutes is 35,136; with many seeds the
 * report would run to hundreds of MB. Past it, samples are thinned as the charts are (series.ts).
 */
export const MAX_METRIC_ROWS = 10_000;

/**
 * At most `maxRows` samples: each the maximum, column by column, of a bucket of consecutive
 * samples, at the bucket's last time, so a peak is never smoothed away and a counter keeps its
 * latest value. Deterministic; a series already within the limit is returned as it is (so a merge
 * that reads thinned files back writes the same bytes).
 */
export function thinSamples(samples: readonly MetricSample[], maxRows = MAX_METRIC_ROWS): readonly MetricSample[] {
  if (samples.length <= maxRows) return samples;
  const bucket = Math.ceil(samples.length / maxRows);
  const thinned: MetricSample[] = [];
  for (let start = 0; start < samples.length; start += bucket) {
    const end = Math.min(samples.length, start + bucket);
    const row: Record<string, number> = { atMs: samples[end - 1]!.atMs };
    for (const column of METRIC_COLUMNS) {
      let most = -Infinity;
      for (let index = start; index < end; index += 1) most = Math.max(most, samples[index]![column]);
      row[column] = most;
    }
    thinned.push(row as unknown as MetricSample);
  }
  return thinned;
}

/** The sampled metrics (thinned past MAX_METRIC_ROWS), with the modelled retained bytes of each sample as the last column. */
export function metricsCsv(samples: readonly MetricSample[], model: MemoryModel = memoryModel()): string {
  const rows = [['at', ...METRIC_COLUMNS, 'retainedBytes'].join(',')];
  for (const sample of thinSamples(samples)) {
    rows.push([formatSimTime(sample.atMs), ...METRIC_COLUMNS.map((column) => String(sample[column])), String(retainedBytes(model, sample.activeSessions, sample.historyMessages))].join(','));
  }
  return `${rows.join('\n')}\n`;
}

/**
 * Writes the whole report folder (plus `extraFiles`, e.g. report.html): see sim/report/report-folder.ts,
 * only ever replacing a folder leaksim wrote, and only once everything is written.
 */
export function writeReports(dir: string, report: Report, extraFiles: Readonly<Record<string, string>> = {}): void {
  const files: Record<string, string> = {
    'summary.json': summaryJson(report),
    'summary.md': summaryMarkdown(report),
    'junit.xml': junitXml(report),
    ...extraFiles,
  };
  for (const outcome of report.outcomes) {
    if (outcome.result) files[`metrics/${metricsFileName(outcome)}`] = metricsCsv(outcome.result.samples);
  }
  writeReportFolder(dir, files, { command: `leaksim ${report.command}`, flag: '--out' });
}

/** For each flaw, the scenarios whose run of that flaw failed as expected, and on which invariant. */
export function flawCoverage(outcomes: readonly RunOutcome[], judged: readonly FlawName[] = FLAW_NAMES): FlawCoverage[] {
  return judged.map((flaw) => {
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
