/**
 * One release's runs: its files read from the clone into a temporary folder, its session path
 * hashed, each run (scenario × seed) taken from the cache or run in a child process of its own
 * (history-child.ts), the folder removed. `runReleases` spreads releases over `jobs` at once.
 *
 * What comes back is a pure function of the release's files, the scenarios and the seeds: no
 * temporary path, time or cache state shows in it (an error's text names `<checkout>` instead of
 * the folder), so a report is the same bytes whether its runs were simulated or read from the cache.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import { childExecArgv, leaksimModule } from '../engine/package-root.ts';
import { INVARIANT_NAMES, type InvariantName } from '../check/catalogue.ts';
import type { RunOutcome } from '../runs/run.ts';
import type { Scenario } from '../runs/scenario.ts';
import { scenarioHash, sessionPathHash, type HistoryCache } from './cache.ts';
import { extractCommit } from './git.ts';

export const HISTORY_CHILD_PATH = leaksimModule('sim/history/history-child');
/**
 * How long one run of a release may take, in wall time, before its child is stopped and the release
 * is an \`error\` cell: some releases never settle (a generator loop that floods the queue) and
 * would hold \`history\` for ever. Generous: a week of steady traffic takes about 4 s.
 * LEAKSIM_HISTORY_RUN_SECONDS changes it. Which runs hit it depends on the machine, so it is kept
 * far above what a release that works needs.
 */
export const HISTORY_RUN_SECONDS = 120;

export function historyRunSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.LEAKSIM_HISTORY_RUN_SECONDS;
  if (given === undefined || given === '') return HISTORY_RUN_SECONDS;
  const seconds = Number(given);
  if (!/^\d+(\.\d+)?$/.test(given) || !(seconds > 0) || seconds > 86_400) {
    throw new InputError('LEAKSIM_HISTORY_RUN_SECONDS', 0, '', `expected a number of seconds above 0 and at most 86400, got ${JSON.stringify(given)}`);
  }
  return seconds;
}
/** At most this much of a child's stderr is kept, for the reason of a crash. */
const MAX_STDERR_CHARS = 16_000;

/** One run of one release, as reports show it. */
export interface RunSummary {
  readonly scenario: string;
  readonly seed: number;
  readonly verdict: 'pass' | 'fail' | 'error';
  readonly error: string | null;
  /** Invariants violated at least once, in catalogue order. */
  readonly violated: readonly InvariantName[];
  readonly traceHash: string | null;
  readonly peakSessions: number;
  readonly peakHistoryMessages: number;
  /** Peak modelled bytes (sim/check/costs.ts). */
  readonly peakBytes: number;
}

export interface ReleaseRuns {
  /** claude-mem's version from the release's package.json, or null when it has none. */
  readonly version: string | null;
  readonly sessionPathHash: string | null;
  /** Why the release could not run (one line), or null. */
  readonly error: string | null;
  readonly runs: readonly RunSummary[];
}

export interface ChildRequest {
  readonly root: string;
  readonly runs: readonly { readonly scenarioFile: string; readonly seed: number }[];
}

/** `crashed`: the process died or was stopped (set by the parent, never by the child). */
export type ChildReply = { readonly runs: readonly RunSummary[] } | { readonly error: string; readonly crashed?: true; readonly timedOut?: true };

export function summarizeOutcome(outcome: RunOutcome): RunSummary {
  const counts = outcome.result?.violationCounts ?? {};
  return {
    scenario: outcome.scenario,
    seed: outcome.seed,
    verdict: outcome.verdict,
    error: outcome.error ?? null,
    violated: INVARIANT_NAMES.filter((name) => (counts[name] ?? 0) > 0),
    traceHash: outcome.result?.traceHash ?? null,
    peakSessions: outcome.result?.peaks.activeSessions ?? 0,
    peakHistoryMessages: outcome.result?.peaks.historyMessages ?? 0,
    peakBytes: outcome.costs?.memory.peakBytes ?? 0,
  };
}

/** The folder a history run reads releases into: one per `history`, removed when it ends. */
export function makeWorkFolder(): string {
  return mkdtempSync(join(tmpdir(), 'leaksim-history-'));
}

export interface ReleaseJob {
  readonly clone: string;
  readonly commit: string;
  readonly scenarios: readonly Scenario[];
  readonly seeds: readonly number[];
  readonly cache: HistoryCache | undefined;
  /** A new folder name inside the work folder. */
  readonly folder: string;
  /** The wall-time limit of one run (historyRunSeconds). */
  readonly runSeconds: number;
}

/** One line, without the temporary folder's path: the same text on every machine and every run. */
export function oneLine(text: string, root: string): string {
  const line = text.split('\n').map((part) => part.trim()).find(Boolean) ?? 'failed without a message';
  return line.split(root).join('<checkout>').split(tmpdir()).join('<tmp>');
}

export async function runRelease(job: ReleaseJob): Promise<ReleaseRuns> {
  try {
    await extractCommit(job.clone, job.commit, job.folder);
  } catch (error) {
    return { version: null, sessionPathHash: null, error: oneLine((error as Error).message, job.folder), runs: [] };
  }
  try {
    const version = packageVersion(job.folder);
    const hash = sessionPathHash(job.folder);
    const planned = job.scenarios.flatMap((scenario) => job.seeds.map((seed) => ({ scenario, seed, key: { sessionPath: hash, scenario: scenarioHash(scenario.file), seed } })));
    // A release that cannot be loaded fails the same way every time: remembered under its session path alone.
    const loadKey = { sessionPath: hash, scenario: '(load)', seed: 0 };
    // So is one whose runs did not finish within the limit, under that limit only (a larger one tries again).
    const timeOutKey = { sessionPath: hash, scenario: `(time-out) ${planned.map((run) => `${run.key.scenario}:${run.seed}`).join(',')}`, seed: job.runSeconds };
    const loadError = job.cache?.get<string>(loadKey) ?? job.cache?.get<string>(timeOutKey);
    if (loadError !== undefined) return { version, sessionPathHash: hash, error: loadError, runs: [] };
    const cached = planned.map((run) => job.cache?.get<RunSummary>(run.key));
    const missing = planned.filter((_, index) => cached[index] === undefined);
    if (missing.length === 0) return { version, sessionPathHash: hash, error: null, runs: cached as RunSummary[] };
    const reply = await inChild({ root: job.folder, runs: missing.map((run) => ({ scenarioFile: run.scenario.file, seed: run.seed })) }, job.runSeconds * missing.length);
    if ('error' in reply) {
      const error = oneLine(reply.error, job.folder);
      // A crashed process is tried again next time; a time-out is kept under its limit.
      if ('timedOut' in reply) job.cache?.set(timeOutKey, error);
      else if (!('crashed' in reply)) job.cache?.set(loadKey, error);
      return { version, sessionPathHash: hash, error, runs: [] };
    }
    const fresh = reply.runs.map((run) => (run.error === null ? run : { ...run, error: oneLine(run.error, job.folder) }));
    // Only finished runs are kept: a run that ended in an error is tried again next time.
    for (const [index, run] of fresh.entries()) if (run.verdict !== 'error') job.cache?.set(missing[index]!.key, run);
    let next = 0;
    return { version, sessionPathHash: hash, error: null, runs: cached.map((run) => run ?? fresh[next++]!) };
  } finally {
    rmSync(job.folder, { recursive: true, force: true });
  }
}

function packageVersion(root: string): string | null {
  try {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}

/** Runs one request in a fresh child process; a child that dies answers with why. */
function inChild(request: ChildRequest, limitSeconds: number): Promise<ChildReply> {
  return new Promise((resolvePromise) => {
    // claude-mem's own console output goes to the child's pipes, never among leaksim's lines.
    const child = fork(HISTORY_CHILD_PATH, [], { execArgv: childExecArgv(), serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    let settled = false;
    child.stdout!.resume();
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk.toString();
    });
    const limit = setTimeout(() => settle({ error: `did not finish within ${limitSeconds} s of wall time (a run that never settles?); stopped (LEAKSIM_HISTORY_RUN_SECONDS sets the limit per run)`, crashed: true, timedOut: true }), limitSeconds * 1_000);
    const settle = (reply: ChildReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      resolvePromise(reply);
      // Whatever the release's code left running (a timer, a socket) ends with its process.
      if (child.exitCode === null) child.kill();
    };
    child.on('message', (reply: ChildReply) => settle(reply));
    child.on('error', (error) => settle({ error: `the history child could not start: ${error.message}`, crashed: true }));
    child.on('exit', (code, signal) => {
      const last = stderr.trim().split('\n').filter(Boolean).find((line) => /error/i.test(line)) ?? stderr.trim().split('\n')[0];
      settle({ error: `the run crashed (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}`, crashed: true });
    });
    child.send(request);
  });
}

/** Runs `jobs` releases at once; results in the order of `items`. */
export async function runAll<T, R>(items: readonly T[], jobs: number, run: (item: T, index: number) => Promise<R>, onDone?: (done: number, total: number) => void): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!, index);
      done += 1;
      onDone?.(done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}
