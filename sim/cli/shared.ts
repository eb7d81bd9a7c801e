/** Pieces the run, check and replay commands share: option parsing, printing a run, exit codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../../src/input-error.ts';
import { loadSettings, type RetentionSettings } from '../../src/settings.ts';
import { describeOutcome, formatSimTime, reportPassed, summaryJson, writeReports, type Report } from '../report.ts';
import type { RunOutcome } from '../run.ts';
import { DAY_MS } from '../traffic.ts';
import type { Output } from './output.ts';

export const EXIT_OK = 0;
export const EXIT_GATE_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** node:util parseArgs, with its errors turned into InputError (exit 2, one line). */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
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
 * Prints one run. `judgedBy` says what its exit code follows, and so what ✓ and ✗ mean: the
 * scenario's expectation (`check`), or the invariants alone (`run`, `replay`: a violation is ✗,
 * with the expectation shown beside it).
 */
export function printOutcome(output: Output, outcome: RunOutcome, judgedBy: 'expectation' | 'invariants' = 'expectation'): void {
  const expectation = outcome.asExpected === undefined ? '' : outcome.asExpected ? ' (as expected)' : ' (NOT as expected)';
  const result = outcome.result;
  const events = result ? Object.values(result.hookEvents).reduce((sum, count) => sum + count, 0) : 0;
  const failed = judgedBy === 'invariants' || outcome.asExpected === undefined ? outcome.verdict !== 'pass' : !outcome.asExpected;
  output.out(`${failed ? '✗' : '✓'} ${outcome.scenario} · ${outcome.target} · seed ${outcome.seed}: ${describeOutcome(outcome)}${expectation}`);
  if (result) output.out(`    ${events.toLocaleString('en-US')} hook events ${howFar(outcome.days, result.endMs, result.stoppedEarly)}, trace ${result.traceHash}; peak ${result.peaks.activeSessions} sessions, ${result.peaks.historyMessages.toLocaleString('en-US')} history messages`);
  for (const warning of result?.warnings ?? []) output.out(`    ${warning.count.toLocaleString('en-US')} × ${warning.kind} (captured): ${warning.message}; first ${warning.firstStackLine}`);
  if (failed) output.out(`    reproduce: ${outcome.reproduce}`);
}

/** "over 7 days", "over 1 day", or for a run that stopped early "in the first 0.4 of 7 days". */
export function howFar(days: number, endMs: number, stoppedEarly: boolean): string {
  const span = `${days} day${days === 1 ? '' : 's'}`;
  if (!stoppedEarly) return `over ${span}`;
  const fraction = Math.min(1, endMs / (days * DAY_MS));
  return `in the first ${fraction < 0.1 ? fraction.toFixed(2) : fraction.toFixed(1)} of ${span}`;
}

/** Writes the report folder and prints where; with --json, the summary goes to stdout instead of the lines. */
export function finishReport(output: Output, report: Report, dir: string, json: boolean): number {
  writeReports(dir, report);
  if (json) output.out(summaryJson(report).trimEnd());
  else output.out(`reports: ${dir}/summary.md, summary.json, junit.xml, metrics/`);
  return reportPassed(report) ? EXIT_OK : EXIT_GATE_FAILED;
}
