/**
 * `history` as functions the command line and the tests call: `planHistory` checks everything
 * (the clone, the refs, the range, the scenarios) before any work; `runHistory` runs the planned
 * releases and returns the timeline; `runBisect` finds the first commit where one invariant's
 * verdict changes.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import type { InvariantName } from '../check/catalogue.ts';
import type { Scenario } from '../runs/scenario.ts';
import { bisect, type BisectResult, type BisectStep } from './bisect.ts';
import type { HistoryCache } from './cache.ts';
import { commitsBetween, commitSubject, isAncestor, releasesInRange, resolveCommit, type Release } from './git.ts';
import { historyRunSeconds, makeWorkFolder, runAll, runRelease } from './release-runs.ts';
import { buildTimeline, timelineRelease, type Timeline, type TimelineInput } from './timeline.ts';

export interface HistoryShard {
  readonly index: number;
  readonly count: number;
}

export interface HistoryPlan {
  /** The clone's absolute path (git is run there); `input.clone` is what the user named. */
  readonly clonePath: string;
  readonly input: TimelineInput;
  readonly scenarios: readonly Scenario[];
  /** Every release of the range, oldest first. */
  readonly releases: readonly Release[];
  readonly shard: HistoryShard | undefined;
}

export interface PlanRequest {
  readonly clone: string;
  readonly clonePath: string;
  readonly from: string | undefined;
  readonly to: string;
  readonly scenarios: readonly Scenario[];
  readonly seeds: readonly number[];
  readonly shard?: HistoryShard | undefined;
}

/** Resolves the refs and lists the releases; an unknown ref or an empty range is bad input. */
export function planHistory(request: PlanRequest): HistoryPlan {
  const toCommit = resolveCommit(request.clonePath, request.to, '--to');
  const fromCommit = request.from === undefined ? null : resolveCommit(request.clonePath, request.from, '--from');
  if (fromCommit !== null && !isAncestor(request.clonePath, fromCommit, toCommit)) {
    throw new InputError('leaksim history', 0, '--from', `${JSON.stringify(request.from)} is not an ancestor of --to ${JSON.stringify(request.to)}: the range is empty`);
  }
  const releases = releasesInRange(request.clonePath, fromCommit ?? undefined, toCommit);
  if (releases.length === 0) {
    throw new InputError('leaksim history', 0, request.from === undefined ? '--to' : '--from/--to', `the range ${request.from ?? '(the first commit)'}..${request.to} holds no release tag (vX.Y.Z): nothing to run`);
  }
  return {
    clonePath: request.clonePath,
    input: { clone: request.clone, from: { ref: request.from ?? null, commit: fromCommit }, to: { ref: request.to, commit: toCommit }, scenarios: request.scenarios.map((scenario) => scenario.name), seeds: request.seeds },
    scenarios: request.scenarios,
    releases,
    shard: request.shard,
  };
}

/** What identifies the whole plan, so that `merge` joins only shards of one history. */
export function planFingerprint(plan: Pick<HistoryPlan, 'input' | 'releases'>): string {
  return createHash('sha256').update(JSON.stringify({ input: plan.input, releases: plan.releases })).digest('hex').slice(0, 16);
}

/** The releases of shard `index` of `count`: every count-th release, from the index-th. */
export function shardReleases<T>(releases: readonly T[], shard: HistoryShard | undefined): T[] {
  return shard ? releases.filter((_, position) => position % shard.count === shard.index - 1) : [...releases];
}

export interface RunHistoryOptions {
  readonly jobs: number;
  readonly cache: HistoryCache | undefined;
  readonly onDone?: (done: number, total: number) => void;
}

export async function runHistory(plan: HistoryPlan, options: RunHistoryOptions): Promise<Timeline> {
  const releases = shardReleases(plan.releases, plan.shard);
  const work = makeWorkFolder();
  try {
    const results = await runAll(
      releases,
      options.jobs,
      async (release, index) =>
        timelineRelease(release, await runRelease({ clone: plan.clonePath, commit: release.commit, scenarios: plan.scenarios, seeds: plan.input.seeds, cache: options.cache, folder: join(work, String(index)), runSeconds: historyRunSeconds() })),
      options.onDone,
    );
    const shard = plan.shard ? { index: plan.shard.index, count: plan.shard.count, releases: plan.releases.length, plan: planFingerprint(plan) } : null;
    return buildTimeline(plan.input, results, shard);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface BisectRequest {
  readonly clonePath: string;
  readonly invariant: InvariantName;
  readonly from: string;
  readonly to: string;
  readonly scenarios: readonly Scenario[];
  readonly seeds: readonly number[];
  readonly cache: HistoryCache | undefined;
  readonly onStep?: (step: BisectStep, tried: number) => void;
}

/** Checks the refs and their order, then bisects; an end that cannot run is bad input. */
export async function runBisect(request: BisectRequest): Promise<BisectResult> {
  const fromCommit = resolveCommit(request.clonePath, request.from, '--from');
  const toCommit = resolveCommit(request.clonePath, request.to, '--to');
  if (!isAncestor(request.clonePath, fromCommit, toCommit)) {
    throw new InputError('leaksim history', 0, '--from', `${JSON.stringify(request.from)} is not an ancestor of --to ${JSON.stringify(request.to)}: nothing to bisect`);
  }
  const commits = commitsBetween(request.clonePath, fromCommit, toCommit);
  const work = makeWorkFolder();
  let tried = 0;
  try {
    const judge = async (commit: string): Promise<BisectStep> => {
      const runs = await runRelease({ clone: request.clonePath, commit, scenarios: request.scenarios, seeds: request.seeds, cache: request.cache, folder: join(work, String(tried)), runSeconds: historyRunSeconds() });
      const release = timelineRelease({ tag: commit, commit }, runs);
      const verdict = release.cells[request.invariant];
      const failing = runs.runs.filter((run) => run.violated.includes(request.invariant)).map((run) => `${run.scenario} seed ${run.seed}`);
      const step: BisectStep = { commit, subject: commitSubject(request.clonePath, commit), verdict, note: verdict === 'fail' ? `violated in ${failing.join(', ')}` : verdict === 'error' ? release.error : null };
      tried += 1;
      request.onStep?.(step, tried);
      const end = commit === fromCommit ? '--from' : commit === toCommit ? '--to' : undefined;
      if (end && verdict === 'error') throw new InputError('leaksim history', 0, end, `${commit.slice(0, 12)} cannot be run: ${release.error}`);
      return step;
    };
    const found = await bisect(commits, judge);
    const before = found.steps[0]!.verdict;
    const after = found.steps.find((step) => step.commit === toCommit)?.verdict ?? before;
    return { invariant: request.invariant, from: { ref: request.from, commit: fromCommit }, to: { ref: request.to, commit: toCommit }, commits: commits.length, ...found, before, after };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
