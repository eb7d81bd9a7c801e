/**
 * The heap probe: one scenario × target × seed, in a child process of its own.
 *
 *   node --expose-gc --max-old-space-size=512 --import tsx sim/heap/probe.ts '<ProbeRequest JSON>'
 *
 * A child, because a heap snapshot sees the whole process: the gate's own state, vitest's, or a
 * previous run's leftovers would be measured with the target. The child runs the simulation with
 * a checkpoint every simulated day (by default); at each it forces a full collection and writes
 * a snapshot with `v8.writeHeapSnapshot` to a path named by scenario, target, seed and
 * checkpoint (deterministic, unlike memlab's random names). Writing is synchronous, so the fake
 * clock does not move. After the run it reads the snapshots with memlab (measure.ts), deletes
 * them unless asked to keep them, and writes a ProbeResult as JSON to `resultFile`.
 *
 * Without `--expose-gc` the measures would be noise: the probe refuses to run (exit 3).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { runScenario } from '../runs/run.ts';
import { loadScenario } from '../runs/scenario.ts';
import { IN_PROCESS_ENV } from '../targets/claude-mem/isolation.ts';
import { resolveTarget } from '../targets/targets.ts';
import { analyseSnapshots, type SnapshotAnalysis, type SnapshotFile } from '../heap-analysis/measure.ts';
import { heapPlanOf } from './plan.ts';
import { checkpointCount } from '../heap-analysis/checkpoints.ts';

export interface ProbeRequest {
  readonly scenarioFile: string;
  readonly target: string;
  readonly seed: number;
  readonly snapshotDir: string;
  readonly resultFile: string;
  readonly keepSnapshots: boolean;
}

export interface ProbeResult extends SnapshotAnalysis {
  readonly scenario: string;
  readonly target: string;
  readonly seed: number;
  /** The plain invariants' verdict on the same run (it runs to the end, whatever it violates). */
  readonly invariantVerdict: 'pass' | 'fail' | 'error';
  readonly invariantsViolated: readonly string[];
  readonly snapshotFiles: readonly string[];
  /** Wall time, for the report's footnote only (never in what a trace hash covers). */
  readonly simulateMs: number;
  readonly analyseMs: number;
}

/** Exit code of a probe started without `--expose-gc`. */
export const EXIT_NO_GC = 3;

/**
 * Gives every script loaded so far its table of line ends, by starting and stopping V8's CPU
 * profiler (which builds them to name code positions). A heap snapshot names each function's
 * location; for a script without the table V8 finds the position by scanning the source from its
 * start, once per function, without keeping the table (a snapshot may not allocate). For the
 * large bundled scripts a claude-mem checkout loads that is quadratic: one snapshot of a 30 MB
 * heap took 200 s instead of 2 (claude-mem 8.5.7 on heap-idle-sessions). Called once the target
 * is loaded; nothing the snapshots measure changes.
 */
async function buildLineEnds(): Promise<void> {
  // A Node built without the inspector has no profiler to ask: its snapshots are only slower.
  const inspector = await import('node:inspector/promises').catch(() => undefined);
  if (!inspector) return;
  const session = new inspector.Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await session.post('Profiler.stop');
    await session.post('Profiler.disable');
  } finally {
    session.disconnect();
  }
}

export async function probe(request: ProbeRequest): Promise<ProbeResult> {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('the heap probe needs --expose-gc: without forced collection the heap measures are noise');
  const scenario = loadScenario(request.scenarioFile);
  const plan = heapPlanOf(scenario);
  if (!plan) throw new Error(`scenario ${scenario.name} has no heap section`);
  // A built-in name or an adapter module: the probe loads it itself, in this child. A claude-mem
  // checkout too (the probe is a child of its own: its home and temporary folder are pointed into
  // a temporary folder before claude-mem loads; sim/targets/claude-mem/isolation.ts).
  if (request.target.startsWith('claude-mem:')) process.env[IN_PROCESS_ENV] = '1';
  const target = await resolveTarget(request.target);
  await buildLineEnds();
  const matchers = target.description.heap;
  if (!matchers) throw new Error(`${request.target} declares no description.heap: the heap gate cannot tell its sessions and history messages apart`);
  mkdirSync(request.snapshotDir, { recursive: true });
  const checkpoints = checkpointCount(scenario.days, plan.checkpointEveryMs);
  const snapshots: SnapshotFile[] = [];
  const startedMs = process.hrtime.bigint();
  const outcome = await runScenario(scenario, {
    // The executable model holds references to the target's history messages (it compares them):
    // in a heap snapshot they would count as the target's. The probe measures the target alone;
    // matches-model is judged by the invariant gate.
    target: { ...target, description: { ...target.description, followsModel: undefined } },
    seed: request.seed,
    stop: 'never',
    flatContent: true,
    checkpoint: {
      everyMs: plan.checkpointEveryMs,
      onCheckpoint: (nowMs) => {
        if (snapshots.length >= checkpoints) return;
        gc();
        const file = join(request.snapshotDir, `${scenario.name}--${request.target.replace(/[^\w.-]+/g, '_')}--seed${request.seed}--${String(snapshots.length + 1).padStart(2, '0')}.heapsnapshot`);
        writeHeapSnapshot(file);
        snapshots.push({ atMs: nowMs, file, bytes: statSync(file).size });
      },
    },
  });
  const simulatedMs = process.hrtime.bigint();
  if (snapshots.length < checkpoints) {
    const why = outcome.error ?? (outcome.result ? 'the run ended early' : `${outcome.firstViolation?.invariant}: ${outcome.firstViolation?.detail}`);
    throw new Error(`only ${snapshots.length} of ${checkpoints} checkpoints were reached (${why})`);
  }
  try {
    const analysis = await analyseSnapshots(snapshots, plan.warmupCheckpoints, matchers);
    return {
      scenario: scenario.name,
      target: request.target,
      seed: request.seed,
      invariantVerdict: outcome.verdict,
      invariantsViolated: Object.keys(outcome.result?.violationCounts ?? {}),
      snapshotFiles: request.keepSnapshots ? snapshots.map((snapshot) => snapshot.file) : [],
      ...analysis,
      simulateMs: Number(simulatedMs - startedMs) / 1e6,
      analyseMs: Number(process.hrtime.bigint() - simulatedMs) / 1e6,
    };
  } finally {
    if (!request.keepSnapshots) for (const snapshot of snapshots) rmSync(snapshot.file, { force: true });
  }
}

/** The line a probe that failed writes last on stderr: its cause, which the gate shows as the run's error. */
export const PROBE_FAILURE_PREFIX = 'heap probe failed: ';

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const request = JSON.parse(process.argv[2] ?? '{}') as ProbeRequest;
  if (typeof globalThis.gc !== 'function') {
    process.stderr.write('heap probe: gc is not exposed; start node with --expose-gc\n');
    process.exit(EXIT_NO_GC);
  }
  let result: ProbeResult;
  try {
    result = await probe(request);
  } catch (error) {
    // The cause, on one line the gate reports as it is (PROBE_FAILURE_PREFIX), not a stack trace.
    process.stderr.write(`${PROBE_FAILURE_PREFIX}${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
    process.exit(1);
  }
  writeFileSync(request.resultFile, `${JSON.stringify(result)}\n`);
  // The result is on disk: a timer the adapter left (a setInterval at import) must not keep the probe alive.
  process.exit(0);
}
