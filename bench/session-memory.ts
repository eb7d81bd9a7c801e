/**
 * What one held session costs in memory, the target's share apart from the simulator's: the same
 * team-size day (bench/team-size.ts) run twice to the same checkpoint, side by side. Runs are
 * deterministic, so both hold the same sessions there.
 *
 *  1. Every invariant and the model on (as `leaksim check` runs): the heap used after a collection.
 *  2. Without the executable model (as the heap gate's probe runs): the heap used, and a heap
 *     snapshot read by memlab for the bytes the reference's SessionManager retains: what the
 *     target holds (with the model on, the messages it shares with the model are retained by
 *     neither alone).
 *
 * The simulator's own bytes per held session are run 1's heap, less the heap before the run (code
 * and modules), less the target's retained bytes, over the sessions held. The pending store counts
 * as the simulator's (it stands in for claude-mem's SQLite), and so do the per-developer traffic
 * streams: both make the figure an upper bound. The model keeps references to the target's history
 * messages, not copies, so what it adds is its own arrays and entries. Goal: under 2 KB.
 *
 * Each run is a child process of its own (this file, with a mode), so that neither measures what
 * the other left behind. Also a script: node --import tsx bench/session-memory.ts [developers]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { analyseSnapshots } from '../sim/heap-analysis/measure.ts';
import { builtInTarget } from '../sim/targets/targets.ts';
import { runTeamDayUntil } from './team-size.ts';

/** The checkpoint both runs stop at: late morning, near the day's peak of sessions held. */
const CHECKPOINT_MS = 11 * 3_600_000;
export const SIMULATOR_BYTES_PER_SESSION_GOAL = 2 * 1024;

interface Reached {
  readonly sessions: number;
  readonly heapUsedBytes: number;
  readonly targetRetainedBytes: number | undefined;
}

export interface SessionMemory {
  readonly developers: number;
  readonly sessions: number;
  readonly baseHeapBytes: number;
  readonly heapWithModelBytes: number;
  readonly heapWithoutModelBytes: number;
  readonly targetRetainedBytes: number;
}

async function runToCheckpoint(developers: number, withModel: boolean, snapshotDir: string): Promise<Reached> {
  const reference = builtInTarget('reference')!;
  const target = withModel ? reference : { ...reference, description: { ...reference.description, followsModel: undefined } };
  return runTeamDayUntil(developers, {
    target,
    everyMs: CHECKPOINT_MS,
    stopAt: async (_nowMs, live): Promise<Reached> => {
      const gc = globalThis.gc!;
      gc();
      const sessions = live.sessionCount();
      const heapUsedBytes = process.memoryUsage().heapUsed;
      if (withModel) return { sessions, heapUsedBytes, targetRetainedBytes: undefined };
      const file = join(snapshotDir, 'checkpoint.heapsnapshot');
      writeHeapSnapshot(file);
      const analysis = await analyseSnapshots([{ atMs: CHECKPOINT_MS, file, bytes: statSync(file).size }], 0, reference.description.heap!);
      return { sessions, heapUsedBytes, targetRetainedBytes: analysis.measures[0]!.managerRetainedBytes };
    },
  });
}

/** One run in this process, after a warm-up run that loads every module it needs: the base heap, then the heap at the checkpoint. */
async function measureHere(withModel: boolean, developers: number): Promise<{ baseHeapBytes: number; reached: Reached }> {
  if (!globalThis.gc) throw new Error('session memory needs node --expose-gc (npm run bench passes it)');
  const snapshotDir = mkdtempSync(join(tmpdir(), 'leaksim-bench-memory-'));
  try {
    await runToCheckpoint(10, withModel, snapshotDir);
    globalThis.gc();
    const baseHeapBytes = process.memoryUsage().heapUsed;
    return { baseHeapBytes, reached: await runToCheckpoint(developers, withModel, snapshotDir) };
  } finally {
    rmSync(snapshotDir, { recursive: true, force: true });
  }
}

/** Each run in a child process of its own, so that neither sees what the other left in the heap. */
export function sessionMemory(developers: number): SessionMemory {
  const measure = (mode: 'model' | 'target') => {
    const stdout = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, String(developers), mode], { encoding: 'utf8', maxBuffer: 2 ** 20 });
    return JSON.parse(stdout) as { baseHeapBytes: number; reached: { sessions: number; heapUsedBytes: number; targetRetainedBytes?: number } };
  };
  const withModel = measure('model');
  const without = measure('target');
  if (without.reached.sessions !== withModel.reached.sessions) throw new Error(`the two runs hold ${without.reached.sessions} and ${withModel.reached.sessions} sessions at the checkpoint: a run is not deterministic`);
  return {
    developers,
    sessions: withModel.reached.sessions,
    baseHeapBytes: withModel.baseHeapBytes,
    heapWithModelBytes: withModel.reached.heapUsedBytes,
    heapWithoutModelBytes: without.reached.heapUsedBytes - without.baseHeapBytes + withModel.baseHeapBytes,
    targetRetainedBytes: without.reached.targetRetainedBytes!,
  };
}

export function sessionMemoryLines(memory: SessionMemory): string[] {
  const perSession = (bytes: number) => `${(bytes / memory.sessions / 1024).toFixed(2)} KB`;
  const simulator = memory.heapWithModelBytes - memory.baseHeapBytes - memory.targetRetainedBytes;
  const model = memory.heapWithModelBytes - memory.heapWithoutModelBytes;
  const met = simulator / memory.sessions < SIMULATOR_BYTES_PER_SESSION_GOAL;
  return [
    `memory per session held (${memory.developers.toLocaleString('en-US')} developers at 11:00 of the working day, ${memory.sessions.toLocaleString('en-US')} sessions, the same run with and without the model):`,
    `  the target (the reference's SessionManager, retained, memlab)   ${perSession(memory.targetRetainedBytes)}`,
    `  the simulator, every invariant and the model                    ${perSession(simulator)}   goal < 2 KB   ${met ? 'met' : 'NOT met'}`,
    `    of which the model                                             ${perSession(model)}`,
  ];
}

if (process.argv[1] === import.meta.filename) {
  const developers = Number(process.argv[2] ?? 1_000);
  const mode = process.argv[3];
  if (mode === 'model' || mode === 'target') {
    const { baseHeapBytes, reached } = await measureHere(mode === 'model', developers);
    console.log(JSON.stringify({ baseHeapBytes, reached: { sessions: reached.sessions, heapUsedBytes: reached.heapUsedBytes, targetRetainedBytes: reached.targetRetainedBytes } }));
  } else {
    for (const line of sessionMemoryLines(sessionMemory(developers))) console.log(line);
  }
}
