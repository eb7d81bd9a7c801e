/**
 * The heap gate: every heap scenario × each target it expects a heap verdict for × each of its
 * heap seeds, one probe child each (probe.ts), judged by rule.ts, with the reference's bytes held
 * to the committed baselines (baselines.ts). `heapCheck` returns data; the CLI prints it.
 *
 * Probes run a few at a time (one per core, at most HEAP_PROBES_PARALLEL_MAX): each is a separate
 * process capped at PROBE_MAX_OLD_SPACE_MB, so a runaway heap fails one probe, not the gate.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RetentionSettings } from '../../src/settings.ts';
import type { Scenario } from '../runs/scenario.ts';
import { childExecArgv, leaksimModule } from '../engine/package-root.ts';
import { judgedSettings } from '../targets/target-description.ts';
import { builtInTarget, type NamedTarget } from '../targets/targets.ts';
import { compareBaselines, measureBaselines, readBaselines, type BaselineCheck, type ScenarioBaseline } from '../heap-analysis/baselines.ts';
import { heapPlanOf, type HeapPlan, type HeapVerdict } from './plan.ts';
import { PROBE_FAILURE_PREFIX, type ProbeRequest, type ProbeResult } from './probe.ts';
import { heapLimits, judgeHeap, type HeapJudgement, type HeapLimits } from '../heap-analysis/rule.ts';

export const PROBE_PATH = leaksimModule('sim/heap/probe');
/** Old-space cap of a probe: a heap scenario's snapshots are tens of MB, parsing needs a few times that. */
export const PROBE_MAX_OLD_SPACE_MB = 768;
export const HEAP_PROBES_PARALLEL_MAX = 4;
/**
 * A probe that has not finished after this long is killed and reported as an error. It only catches
 * a hang: a probe takes tens of seconds on a quiet machine and several minutes on a loaded one,
 * and a slow machine must make the gate slower, never failing (2 minutes did fail under load).
 */
export const PROBE_TIMEOUT_MS = 20 * 60_000;
/** Where `--keep-snapshots` leaves them (gitignored, like every *.heapsnapshot). */
export const DEFAULT_KEPT_SNAPSHOT_DIR = 'reports/heap-snapshots';

export interface HeapRun {
  readonly scenario: string;
  readonly scenarioFile: string;
  readonly target: string;
  readonly seed: number;
  readonly expected: HeapVerdict;
  readonly verdict: HeapVerdict | 'error';
  readonly asExpected: boolean;
  readonly limits: HeapLimits;
  readonly judgement: HeapJudgement | undefined;
  readonly probe: ProbeResult | undefined;
  readonly error: string | undefined;
  readonly reproduce: string;
}

export interface HeapReport {
  readonly runs: readonly HeapRun[];
  readonly measuredBaselines: Record<string, ScenarioBaseline>;
  readonly baselineChecks: readonly BaselineCheck[];
  readonly baselinesFile: string;
  readonly passed: boolean;
}

export interface HeapCheckOptions {
  readonly baselinesFile: string;
  /** Where probes write snapshots (default: a fresh temporary folder, removed afterwards). */
  readonly snapshotDir?: string;
  readonly keepSnapshots?: boolean;
  /** Probes at once (`--jobs`); default: one per core, at most HEAP_PROBES_PARALLEL_MAX. */
  readonly parallel?: number;
  /** Called with each judged run in plan order, as soon as it and every earlier one are done (so the printed lines are the same for any `parallel`). */
  readonly onRun?: (run: HeapRun) => void;
  /**
   * An adapter to judge instead of the targets each scenario names (`check --heap --target`): it
   * must pass every heap scenario, on every heap seed, with the settings it fixes; the reference's
   * baselines do not apply to it.
   */
  readonly target?: NamedTarget;
  /** Called as probes start and finish: the one progress line of the whole gate. */
  readonly onProgress?: (done: number, total: number, running: readonly string[]) => void;
}

interface PlannedRun {
  readonly scenario: Scenario;
  readonly plan: HeapPlan;
  readonly target: string;
  readonly seed: number;
  readonly expected: HeapVerdict;
  /** The settings the heap limits are taken from: the scenario's, overridden by what an adapter fixes. */
  readonly settings: RetentionSettings;
}

export function heapScenarios(scenarios: readonly Scenario[]): Scenario[] {
  return scenarios.filter((scenario) => scenario.heap !== undefined);
}

export async function heapCheck(scenarios: readonly Scenario[], options: HeapCheckOptions): Promise<HeapReport> {
  const planned: PlannedRun[] = heapScenarios(scenarios).flatMap((scenario) => {
    const plan = heapPlanOf(scenario)!;
    if (options.target) return plan.seeds.map((seed) => ({ scenario, plan, target: options.target!.name, seed, expected: 'pass' as const, settings: judgedSettings(scenario.settings, options.target!.description) }));
    // A target expected to fail runs on the first heap seed only: one deterministic run shows a
    // leak. One expected to pass runs on every heap seed: repeated runs are what show a false alarm.
    return [...plan.expect].flatMap(([target, expected]) => (expected === 'fail' ? plan.seeds.slice(0, 1) : plan.seeds).map((seed) => ({ scenario, plan, target, seed, expected, settings: scenario.settings })));
  });
  const work = mkdtempSync(join(tmpdir(), 'leaksim-heap-'));
  const snapshotDir = options.snapshotDir ?? (options.keepSnapshots ? DEFAULT_KEPT_SNAPSHOT_DIR : join(work, 'snapshots'));
  mkdirSync(snapshotDir, { recursive: true });
  const runs: HeapRun[] = new Array(planned.length);
  try {
    let next = 0;
    let reported = 0;
    let done = 0;
    const running = new Map<number, string>();
    const parallel = Math.max(1, options.parallel ?? Math.min(availableParallelism(), HEAP_PROBES_PARALLEL_MAX));
    const worker = async () => {
      for (let index = next++; index < planned.length; index = next++) {
        running.set(index, `${planned[index]!.scenario.name} ${planned[index]!.target} seed ${planned[index]!.seed}`);
        options.onProgress?.(done, planned.length, [...running.values()]);
        const run = await judgeRun(planned[index]!, snapshotDir, join(work, `result-${index}.json`), options.keepSnapshots ?? false);
        runs[index] = run;
        running.delete(index);
        done += 1;
        for (; reported < planned.length && runs[reported]; reported += 1) options.onRun?.(runs[reported]!);
        options.onProgress?.(done, planned.length, [...running.values()]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, planned.length) }, worker));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const warmups = new Map(planned.map((run) => [run.scenario.name, run.plan.warmupCheckpoints]));
  const referenceResults = runs.filter((run) => run.probe && run.judgement?.passed).map((run) => run.probe!);
  const measuredBaselines = measureBaselines(referenceResults, (scenario) => warmups.get(scenario) ?? 0);
  const baselineChecks = options.target ? [] : compareBaselines(measuredBaselines, readBaselines(options.baselinesFile), options.baselinesFile);
  const passed = runs.every((run) => run.asExpected) && baselineChecks.every((check) => check.passed);
  return { runs, measuredBaselines, baselineChecks, baselinesFile: options.baselinesFile, passed };
}

/** Judges a run's probe result again (with other limits, or after reading it back from a report). */
export function judgeProbe(probe: ProbeResult, plan: HeapPlan, scenario: Scenario, settings: RetentionSettings = scenario.settings): HeapJudgement {
  return judgeHeap(probe.measures, plan.warmupCheckpoints, settings, heapLimits(settings, plan.historySlackMessages));
}

async function judgeRun(planned: PlannedRun, snapshotDir: string, resultFile: string, keepSnapshots: boolean): Promise<HeapRun> {
  const { scenario, plan, target, seed, expected, settings } = planned;
  const limits = heapLimits(settings, plan.historySlackMessages);
  const builtIn = builtInTarget(target) !== undefined;
  const reproduce = `npx leaksim check --heap ${scenario.file} --only ${scenario.name}${builtIn ? '' : ` --target ${target}`}`;
  const base = { scenario: scenario.name, scenarioFile: scenario.file, target, seed, expected, limits, reproduce };
  const request: ProbeRequest = { scenarioFile: scenario.file, target, seed, snapshotDir, resultFile, keepSnapshots };
  try {
    const probe = await runProbe(request);
    const judgement = judgeProbe(probe, plan, scenario, settings);
    const verdict = judgement.passed ? 'pass' : 'fail';
    return { ...base, verdict, asExpected: verdict === expected, judgement, probe, error: undefined };
  } catch (error) {
    return { ...base, verdict: 'error', asExpected: false, judgement: undefined, probe: undefined, error: (error as Error).message };
  }
}

/** Starts the probe in a child with --expose-gc and a memory cap; resolves with its result. */
export function runProbe(request: ProbeRequest, execArgv: readonly string[] = ['--expose-gc']): Promise<ProbeResult> {
  const args = [...execArgv, `--max-old-space-size=${PROBE_MAX_OLD_SPACE_MB}`, ...childExecArgv(), PROBE_PATH, JSON.stringify(request)];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: PROBE_TIMEOUT_MS });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4_000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const lines = stderr.trim().split('\n').filter(Boolean);
        // The probe's own one-line cause when it gave one ("only 9 of 11 checkpoints were reached (…)"); else the last lines it printed.
        const cause = [...lines].reverse().find((line) => line.startsWith(PROBE_FAILURE_PREFIX));
        if (cause) {
          reject(new Error(`heap probe ${request.target} seed ${request.seed}: ${cause.slice(PROBE_FAILURE_PREFIX.length)}`));
          return;
        }
        const last = lines.slice(-3).join(' | ');
        reject(new Error(`heap probe ${request.target} seed ${request.seed} exited with ${signal ?? `code ${code}`}${last ? `: ${last}` : ''}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(readFileSync(request.resultFile, 'utf8')) as ProbeResult);
      } catch (error) {
        reject(new Error(`heap probe ${request.target} seed ${request.seed} left no result (${(error as Error).message})`));
      }
    });
  });
}
