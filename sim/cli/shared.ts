/** Pieces the run, check and replay commands share: option parsing, printing a run, exit codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** What parseOptions returns for these options (named, so the build can declare it). */
export type ParsedOptions<T extends NonNullable<ParseArgsConfig['options']>> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;
import { InputError } from '../../src/input-error.ts';
import { loadSettings, type RetentionSettings } from '../../src/settings.ts';
import { outcomeLine, outcomePassed, reportPassed, summaryJson, writeReports, type Report } from '../report/report.ts';
import { formatSimTime } from '../engine/sim-time.ts';
import { checkReportFolder, lockReportFolder } from '../report/report-folder.ts';
import { runReportHtml } from '../report/html/run-page.ts';
import type { Charts } from '../report/html/charts.ts';
import type { RunOutcome } from '../runs/run.ts';
import { DAY_MS } from '../engine/traffic.ts';
import type { Output } from './output.ts';

export const EXIT_OK = 0;
export const EXIT_GATE_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** node:util parseArgs, with its errors turned into InputError (exit 2, one line). */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: readonly string[], options: T): ParsedOptions<T> {
  // `--days -1` would read as an option named -1 ("argument is ambiguous"); joined as `--days=-1`,
  // the value reaches the number check, which says what was expected.
  const joined: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    const next = args[index + 1];
    const option = arg.startsWith('--') ? options[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      index += 1;
    } else joined.push(arg);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new InputError(`leaksim ${command}`, 0, '', (error as Error).message.split('\n')[0]!);
  }
}

export function wholeNumber(command: string, flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InputError(`leaksim ${command}`, 0, flag, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function positiveNumber(command: string, flag: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(number > 0) || number > max) {
    throw new InputError(`leaksim ${command}`, 0, flag, `expected a number above 0 and at most ${max}, got ${JSON.stringify(value)}`);
  }
  return number;
}

export function settingsOption(file: string | undefined, base: RetentionSettings): { values: RetentionSettings; file: string } | undefined {
  return file === undefined ? undefined : { values: loadSettings(file, base), file };
}

/** Progress for long runs, on a terminal only: "steady-week reference seed 1: day 3.2, 41,220 hook events". */
export function progressFor(output: Output, label: string): ((nowMs: number, hookEvents: number) => void) | undefined {
  if (!output.interactive) return undefined;
  return (nowMs, hookEvents) => output.progress(`${label}: ${formatSimTime(nowMs).replace(/ \d\d:\d\d:\d\d(\.\d+)?$/, '')}, ${hookEvents.toLocaleString('en-US')} hook events`);
}

/**
 * Prints one run, with the same ✓/✗ rule and "as expected" words as the report files
 * (sim/report/report.ts `outcomePassed`, `expectationNote`). `judgedBy` says what its exit code follows.
 */
export function printOutcome(output: Output, outcome: RunOutcome, judgedBy: Report['judgedBy'] = 'expectation'): void {
  const result = outcome.result;
  const events = result ? Object.values(result.hookEvents).reduce((sum, count) => sum + count, 0) : 0;
  const passed = outcomePassed(outcome, judgedBy);
  output.out(outcomeLine(outcome, judgedBy));
  if (result) output.out(`    ${events.toLocaleString('en-US')} hook events ${howFar(outcome.days, result.endMs, result.stoppedEarly)}, trace ${result.traceHash}; peak ${result.peaks.activeSessions} sessions, ${result.peaks.historyMessages.toLocaleString('en-US')} history messages`);
  for (const warning of result?.warnings ?? []) output.out(`    ${warning.count.toLocaleString('en-US')} × ${warning.kind} (captured): ${warning.message}; first ${warning.firstStackLine}`);
  if (!passed) output.out(`    reproduce: ${outcome.reproduce}`);
}

/**
 * A run that ended in an error of the user's adapter code is bad input: one line naming the
 * target, what its code did and the seed, with the command that reproduces it (exit 2, no report).
 */
export function stopOnTargetCodeError(command: string, outcome: RunOutcome): void {
  if (outcome.verdict !== 'error' || !outcome.errorFromTargetCode) return;
  throw new InputError(`leaksim ${command}`, 0, '', `target ${outcome.target}: ${outcome.error}; reproduce: ${outcome.reproduce}`);
}

/** The pre-flight for a report folder: refused before any work starts (sim/report/report-folder.ts). */
export function reportFolder(command: string, dir: string): string {
  checkReportFolder(dir, { command: `leaksim ${command}`, flag: '--out' });
  lockReportFolder(dir, { command: `leaksim ${command}`, flag: '--out' });
  return dir;
}

/** "over 7 days", "over 1 day", or for a run that stopped early "in the first 0.4 of 7 days". */
export function howFar(days: number, endMs: number, stoppedEarly: boolean): string {
  const span = `${days} day${days === 1 ? '' : 's'}`;
  if (!stoppedEarly) return `over ${span}`;
  const fraction = Math.min(1, endMs / (days * DAY_MS));
  return `in the first ${fraction < 0.1 ? fraction.toFixed(2) : fraction.toFixed(1)} of ${span}`;
}

/** Writes the report folder and prints where; with --json, the summary goes to stdout instead of the lines. */
export async function finishReport(output: Output, report: Report, dir: string, json: boolean, charts?: Charts): Promise<number> {
  writeReports(dir, report, { 'report.html': await runReportHtml(report, charts) });
  if (json) output.out(summaryJson(report).trimEnd());
  else output.out(`reports: ${dir}/summary.md, summary.json, junit.xml, report.html, metrics/`);
  return reportPassed(report) ? EXIT_OK : EXIT_GATE_FAILED;
}
