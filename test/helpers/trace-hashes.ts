/**
 * The trace hashes pinned when sim/ was restructured (test/fixtures/trace-hashes.json): the whole
 * gate, the waiting adapter's check and claude-mem's checks. A change that should not alter
 * behaviour (a move, a speed-up) keeps every one of them; one that alters behaviour on purpose
 * updates the file in the same commit, and says so.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect } from 'vitest';

const PINNED = JSON.parse(readFileSync(new URL('../fixtures/trace-hashes.json', import.meta.url), 'utf8')) as Record<string, Record<string, string>>;

export type PinnedGroup = 'gate' | 'waiting-adapter' | 'claude-mem-8.5.7' | 'claude-mem-13.15.3';

interface SummaryRun {
  readonly scenario: string;
  readonly target: string;
  readonly seed: number;
  readonly traceHash: string;
}

/** "steady-week reference seed 1"; a claude-mem target is named by its checkout's folder. */
function runKey(run: SummaryRun): string {
  const target = run.target.startsWith('claude-mem:') ? `claude-mem:${basename(run.target.slice('claude-mem:'.length))}` : run.target;
  return `${run.scenario} ${target} seed ${run.seed}`;
}

/** Every run a summary.json holds has the hash pinned for it, and every pinned run is there. */
export function expectPinnedTraceHashes(summaryFile: string, group: PinnedGroup): void {
  const runs = (JSON.parse(readFileSync(summaryFile, 'utf8')) as { runs: SummaryRun[] }).runs;
  const hashes = Object.fromEntries(runs.map((run) => [runKey(run), run.traceHash]));
  expect(hashes).toEqual(PINNED[group]);
}
