/**
 * Committed heap baselines (reports/baselines/heap.json): what one active session and one history
 * message of the reference retain, per heap scenario. The gate fails when the reference's measured
 * bytes exceed a committed value by more than the margin; `leaksim check --heap
 * --update-baselines` (npm run heap:update) rewrites the file from a run, deliberately.
 *
 * Measured as Σ retained bytes / Σ objects over the judged checkpoints of every seed: a session's
 * retained size includes its history (bounded by the settings), so a regression that keeps more
 * history, or a second copy of it, shows here even while every count stays within its bound.
 * Simulation runs are deterministic, so the values move only with V8's own layout decisions: four
 * runs here gave 50,657–50,738 B per session and 2,415–2,419 B per message on heap-idle-sessions
 * (a spread of 0.16%); the 25% margin is far from that noise and is for real regressions.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readBoundedText } from '../../src/bounded-read.ts';
import { dirname } from 'node:path';
import { checkedJsonText, MAX_JSON_FILE_BYTES } from '../../src/json-text.ts';
import { InputError } from '../../src/input-error.ts';
import type { SnapshotAnalysis } from './measure.ts';

/** What baselines are measured from: one probe's analysis of one run (the heap gate's probe result is one). */
export interface MeasuredRun extends SnapshotAnalysis {
  readonly scenario: string;
  readonly target: string;
  readonly seed: number;
}

export const DEFAULT_BASELINES_FILE = 'reports/baselines/heap.json';
export const BASELINES_FORMAT_VERSION = 1;
export const DEFAULT_MARGIN_PERCENT = 25;

export interface ScenarioBaseline {
  readonly target: string;
  readonly seeds: readonly number[];
  readonly bytesPerSession: number;
  /** null when the sessions held no message at any judged checkpoint. */
  readonly bytesPerHistoryMessage: number | null;
}

export interface HeapBaselines {
  readonly marginPercent: number;
  readonly scenarios: Readonly<Record<string, ScenarioBaseline>>;
}

export interface BaselineCheck {
  readonly scenario: string;
  readonly measure: 'bytesPerSession' | 'bytesPerHistoryMessage';
  readonly measured: number;
  readonly committed: number | null;
  /** measured / committed − 1, in percent; null without a committed value. */
  readonly changePercent: number | null;
  readonly passed: boolean;
  readonly detail: string;
}

/** The target whose bytes are baselined. */
export const BASELINE_TARGET = 'reference';

/** Per scenario, the reference's bytes per session and per message over the judged checkpoints that hold sessions; scenarios whose reference holds none are left out. */
export function measureBaselines(results: readonly MeasuredRun[], warmupOf: (scenario: string) => number): Record<string, ScenarioBaseline> {
  const byScenario = new Map<string, MeasuredRun[]>();
  for (const result of results) if (result.target === BASELINE_TARGET) byScenario.set(result.scenario, [...(byScenario.get(result.scenario) ?? []), result]);
  const baselines: Record<string, ScenarioBaseline> = {};
  for (const scenario of [...byScenario.keys()].sort()) {
    const runs = byScenario.get(scenario)!;
    let sessions = 0;
    let sessionBytes = 0;
    let messages = 0;
    let messageBytes = 0;
    for (const run of runs) {
      for (const measure of run.measures.slice(warmupOf(scenario))) {
        // Messages count only where sessions hold them: with none in memory, the few left are the agent's in flight.
        if (measure.sessionObjects === 0) continue;
        sessions += measure.sessionObjects;
        sessionBytes += measure.sessionRetainedBytes;
        messages += measure.historyMessageObjects;
        messageBytes += measure.historyMessageRetainedBytes;
      }
    }
    if (sessions === 0) continue;
    baselines[scenario] = {
      target: BASELINE_TARGET,
      seeds: runs.map((run) => run.seed).sort((a, b) => a - b),
      bytesPerSession: Math.round(sessionBytes / sessions),
      bytesPerHistoryMessage: messages > 0 ? Math.round(messageBytes / messages) : null,
    };
  }
  return baselines;
}

export function readBaselines(file: string): HeapBaselines | undefined {
  if (!existsSync(file)) return undefined;
  // The bounded reader: a FIFO or /dev/zero is refused by type, a huge file by counting.
  const text = readBoundedText(file, MAX_JSON_FILE_BYTES, 'MAX_JSON_FILE_BYTES', 'a heap baselines file (JSON)');
  let raw: any;
  try {
    raw = JSON.parse(checkedJsonText(text, file));
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(file, 0, '', `is not valid JSON (${(error as Error).message})`);
  }
  if (raw?.leaksimHeapBaselines !== BASELINES_FORMAT_VERSION) {
    throw new InputError(file, 0, 'leaksimHeapBaselines', `expected ${BASELINES_FORMAT_VERSION}, got ${JSON.stringify(raw?.leaksimHeapBaselines)}`);
  }
  if (typeof raw.marginPercent !== 'number' || !(raw.marginPercent >= 0 && raw.marginPercent <= 1000)) {
    throw new InputError(file, 0, 'marginPercent', `expected a number from 0 to 1000, got ${JSON.stringify(raw.marginPercent)}`);
  }
  if (typeof raw.scenarios !== 'object' || raw.scenarios === null) throw new InputError(file, 0, 'scenarios', 'expected an object of scenario baselines');
  for (const [name, entry] of Object.entries<any>(raw.scenarios)) {
    for (const field of ['bytesPerSession', 'bytesPerHistoryMessage'] as const) {
      const value = entry?.[field];
      if (value !== null && !(typeof value === 'number' && value > 0)) throw new InputError(file, 0, `scenarios.${name}.${field}`, `expected a positive number or null, got ${JSON.stringify(value)}`);
    }
  }
  return { marginPercent: raw.marginPercent, scenarios: raw.scenarios };
}

/** Writes the baselines file (stable key order, atomically). */
export function writeBaselines(file: string, scenarios: Record<string, ScenarioBaseline>, marginPercent: number): void {
  const body = {
    leaksimHeapBaselines: BASELINES_FORMAT_VERSION,
    description: 'Retained bytes per active session and per history message of the reference, per heap scenario. Refresh deliberately: npm run heap:update.',
    marginPercent,
    scenarios: Object.fromEntries(
      Object.keys(scenarios)
        .sort()
        .map((name) => {
          const entry = scenarios[name]!;
          return [name, { target: entry.target, seeds: entry.seeds, bytesPerSession: entry.bytesPerSession, bytesPerHistoryMessage: entry.bytesPerHistoryMessage }];
        }),
    ),
  };
  mkdirSync(dirname(file), { recursive: true });
  const staging = `${file}.partial`;
  writeFileSync(staging, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(staging, file);
}

/**
 * Holds measured bytes to the committed ones: above committed × (1 + margin) fails, and so does a
 * measured scenario with no committed value (a new heap scenario needs a deliberate refresh).
 */
export function compareBaselines(measured: Record<string, ScenarioBaseline>, committed: HeapBaselines | undefined, file: string): BaselineCheck[] {
  const checks: BaselineCheck[] = [];
  const margin = committed?.marginPercent ?? DEFAULT_MARGIN_PERCENT;
  for (const [scenario, entry] of Object.entries(measured)) {
    for (const measure of ['bytesPerSession', 'bytesPerHistoryMessage'] as const) {
      const value = entry[measure];
      if (value === null) continue;
      const reference = committed?.scenarios[scenario]?.[measure] ?? null;
      if (reference === null) {
        checks.push({ scenario, measure, measured: value, committed: null, changePercent: null, passed: false, detail: `no committed baseline in ${file}: refresh deliberately with npm run heap:update` });
        continue;
      }
      const changePercent = (value / reference - 1) * 100;
      const passed = changePercent <= margin;
      checks.push({
        scenario,
        measure,
        measured: value,
        committed: reference,
        changePercent,
        passed,
        detail: `${value} B measured, ${reference} B committed (${changePercent >= 0 ? '+' : ''}${changePercent.toFixed(1)}%, margin ${margin}%)${passed ? '' : ': the reference regressed'}`,
      });
    }
  }
  return checks;
}
