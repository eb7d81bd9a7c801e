/**
 * The timeline: release × invariant verdicts, the peaks of each release, and for each invariant
 * the releases where it started or stopped failing. Built from the runs of each release, in
 * release order; a pure function of them, so sharded runs merged give the same timeline.
 */
import { INVARIANT_NAMES, type InvariantName } from '../check/catalogue.ts';
import type { Release } from './git.ts';
import type { ReleaseRuns, RunSummary } from './release-runs.ts';

export type Cell = 'pass' | 'fail' | 'error';

export interface TimelineRelease extends Release {
  readonly version: string | null;
  readonly sessionPathHash: string | null;
  /** Why (some of) the release's runs could not finish, one line; null when all ran. */
  readonly error: string | null;
  readonly cells: Readonly<Record<InvariantName, Cell>>;
  /** Highest over the release's runs; null when none ran. */
  readonly peakSessions: number | null;
  readonly peakHistoryMessages: number | null;
  readonly peakBytes: number | null;
  readonly runs: readonly RunSummary[];
}

export interface Transition {
  readonly invariant: InvariantName;
  readonly change: 'started failing' | 'stopped failing';
  /** The release where the new verdict is first seen, and the last earlier release that ran. */
  readonly release: string;
  readonly after: string;
}

export interface TimelineInput {
  /** The clone as the user named it (`claude-mem:<path>`). */
  readonly clone: string;
  readonly from: { readonly ref: string | null; readonly commit: string | null };
  readonly to: { readonly ref: string; readonly commit: string };
  readonly scenarios: readonly string[];
  readonly seeds: readonly number[];
}

export interface Timeline {
  readonly input: TimelineInput;
  /** Which part of the releases this timeline holds: null for all of them (unsharded, or merged). */
  readonly shard: { readonly index: number; readonly count: number; readonly releases: number; readonly plan: string } | null;
  readonly releases: readonly TimelineRelease[];
  /** Invariants that failed in at least one release, in catalogue order: the columns worth showing. */
  readonly failing: readonly InvariantName[];
  readonly transitions: readonly Transition[];
}

export function timelineRelease(release: Release, runs: ReleaseRuns): TimelineRelease {
  const finished = runs.runs.filter((run) => run.verdict !== 'error');
  const erroredRun = runs.runs.find((run) => run.verdict === 'error');
  const error = runs.error ?? (erroredRun ? `${erroredRun.scenario} seed ${erroredRun.seed}: ${erroredRun.error ?? 'error'}` : null);
  const cells = Object.fromEntries(
    INVARIANT_NAMES.map((name): [InvariantName, Cell] => {
      if (runs.runs.some((run) => run.violated.includes(name))) return [name, 'fail'];
      return [name, error !== null ? 'error' : 'pass'];
    }),
  ) as Record<InvariantName, Cell>;
  const peak = (field: 'peakSessions' | 'peakHistoryMessages' | 'peakBytes') => (finished.length === 0 ? null : Math.max(...finished.map((run) => run[field])));
  return {
    tag: release.tag,
    commit: release.commit,
    version: runs.version,
    sessionPathHash: runs.sessionPathHash,
    error,
    cells,
    peakSessions: peak('peakSessions'),
    peakHistoryMessages: peak('peakHistoryMessages'),
    peakBytes: peak('peakBytes'),
    runs: runs.runs,
  };
}

/** Each change of an invariant's verdict between releases that ran it; `error` cells are stepped over. */
export function transitions(releases: readonly TimelineRelease[]): Transition[] {
  const found: Transition[] = [];
  for (const invariant of INVARIANT_NAMES) {
    let last: { cell: Cell; tag: string } | undefined;
    for (const release of releases) {
      const cell = release.cells[invariant];
      if (cell === 'error') continue;
      if (last && last.cell !== cell) found.push({ invariant, change: cell === 'fail' ? 'started failing' : 'stopped failing', release: release.tag, after: last.tag });
      last = { cell, tag: release.tag };
    }
  }
  return found;
}

export function buildTimeline(input: TimelineInput, releases: readonly TimelineRelease[], shard: Timeline['shard'] = null): Timeline {
  return {
    input,
    shard,
    releases,
    failing: INVARIANT_NAMES.filter((name) => releases.some((release) => release.cells[name] === 'fail')),
    transitions: transitions(releases),
  };
}

/**
 * A regression: an invariant that fails at the newest release that ran although an earlier
 * release in the range passed it. `history`'s exit code is 1 when there is one.
 */
export function regressions(timeline: Timeline): InvariantName[] {
  const ran = timeline.releases.filter((release) => INVARIANT_NAMES.some((name) => release.cells[name] !== 'error'));
  const newest = ran.at(-1);
  if (!newest) return [];
  return INVARIANT_NAMES.filter((name) => newest.cells[name] === 'fail' && ran.slice(0, -1).some((release) => release.cells[name] === 'pass'));
}
