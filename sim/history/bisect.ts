/**
 * `history --bisect <invariant>`: the first commit between two refs where the invariant's verdict
 * changes, as `git bisect` finds it: the two ends are judged, then the middle of what is left, in
 * O(log n) runs over the first-parent line. A commit that cannot run is stepped over as
 * `git bisect skip` does (the nearest untried commit in the same half is tried instead); when only
 * such commits are left, the answer is the span they cover.
 */
import type { InvariantName } from '../check/catalogue.ts';

export type BisectVerdict = 'pass' | 'fail' | 'error';

export interface BisectStep {
  readonly commit: string;
  /** The first line of its message. */
  readonly subject: string;
  readonly verdict: BisectVerdict;
  /** One line: what failed or why it could not run. */
  readonly note: string | null;
}

export interface BisectResult {
  readonly invariant: InvariantName;
  readonly from: { readonly ref: string; readonly commit: string };
  readonly to: { readonly ref: string; readonly commit: string };
  /** Commits on the line from `from` to `to`, both included. */
  readonly commits: number;
  readonly steps: readonly BisectStep[];
  /** `changed`: `first` is the first commit with the new verdict. `unchanged`: the same verdict at both ends. `skipped`: the change is among commits that could not run, `first` … `last`. */
  readonly outcome: 'changed' | 'unchanged' | 'skipped';
  readonly before: BisectVerdict;
  readonly after: BisectVerdict;
  readonly first: string | null;
  readonly last: string | null;
}

/**
 * Searches `commits` (oldest first) with `judge`, which returns a commit's verdict. The ends must
 * run (the caller checks them: an end that cannot run is bad input).
 */
export async function bisect(commits: readonly string[], judge: (commit: string) => Promise<BisectStep>): Promise<{ steps: BisectStep[]; outcome: BisectResult['outcome']; first: string | null; last: string | null }> {
  const steps: BisectStep[] = [];
  const verdicts = new Map<number, BisectVerdict>();
  const try_ = async (index: number) => {
    const step = await judge(commits[index]!);
    steps.push(step);
    verdicts.set(index, step.verdict);
    return step.verdict;
  };
  const before = await try_(0);
  if (commits.length === 1) return { steps, outcome: 'unchanged', first: null, last: null };
  const after = await try_(commits.length - 1);
  if (before === after) return { steps, outcome: 'unchanged', first: null, last: null };
  // Invariant: commits[low] has the old verdict, commits[high] the new one.
  let low = 0;
  let high = commits.length - 1;
  for (;;) {
    const untried = [];
    for (let index = low + 1; index < high; index += 1) if (!verdicts.has(index)) untried.push(index);
    if (untried.length === 0) break;
    // The middle of the span, or the untried commit nearest to it.
    const middle = Math.floor((low + high) / 2);
    const pick = untried.reduce((best, index) => (Math.abs(index - middle) < Math.abs(best - middle) ? index : best));
    const verdict = await try_(pick);
    if (verdict === 'error') continue;
    // Commits known to be skipped stay inside the span; only tried ones move its ends.
    if (verdict === before) low = pick;
    else high = pick;
  }
  const skippedBetween = [...verdicts.entries()].some(([index, verdict]) => index > low && index < high && verdict === 'error');
  if (!skippedBetween) return { steps, outcome: 'changed', first: commits[high]!, last: null };
  return { steps, outcome: 'skipped', first: commits[low + 1]!, last: commits[high]! };
}
