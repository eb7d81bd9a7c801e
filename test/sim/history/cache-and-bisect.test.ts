/**
 * The history cache and the bisect search, without claude-mem: a release whose runs are in the
 * cache is not run at all (its fabricated entry comes back as it was stored), the session-path
 * hash follows every byte of src/ and nothing else, the cache folder is refused when leaksim did
 * not create it, and bisect finds the first changed commit in at most 2 + ⌈log2 n⌉ runs, stepping
 * over commits that cannot run as `git bisect skip` does.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/input-error.ts';
import { bisect, type BisectStep } from '../../../sim/history/bisect.ts';
import { HistoryCache, scenarioHash, sessionPathHash } from '../../../sim/history/cache.ts';
import { runRelease, type RunSummary } from '../../../sim/history/release-runs.ts';
import { loadScenario } from '../../../sim/runs/scenario.ts';
import { git } from '../../helpers/release-clone.ts';

const root = mkdtempSync(join(tmpdir(), 'leaksim-history-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function checkout(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('the session-path hash', () => {
  it('changes with any byte or name under src/ and with package.json, not with files elsewhere', () => {
    const base = { 'package.json': '{"name":"claude-mem","version":"1.0.0"}', 'src/a.ts': 'export const a = 1;\n', 'src/deep/b.ts': 'export const b = 2;\n' };
    const hash = sessionPathHash(checkout('base', base));
    expect(sessionPathHash(checkout('same', base))).toBe(hash);
    expect(sessionPathHash(checkout('docs', { ...base, 'README.md': 'docs only' }))).toBe(hash);
    expect(sessionPathHash(checkout('byte', { ...base, 'src/a.ts': 'export const a = 2;\n' }))).not.toBe(hash);
    expect(sessionPathHash(checkout('renamed', { 'package.json': base['package.json'], 'src/a.ts': base['src/a.ts'], 'src/deep/c.ts': base['src/deep/b.ts'] }))).not.toBe(hash);
    expect(sessionPathHash(checkout('version', { ...base, 'package.json': '{"name":"claude-mem","version":"1.0.1"}' }))).not.toBe(hash);
  });
});

describe('the history cache', () => {
  it('is created with its marker, and a folder leaksim did not create is refused', () => {
    const cache = HistoryCache.open(join(root, 'cache-new'));
    cache.set({ sessionPath: 'x', scenario: 'y', seed: 1 }, { stored: true });
    expect(cache.get({ sessionPath: 'x', scenario: 'y', seed: 1 })).toEqual({ stored: true });
    expect(cache.get({ sessionPath: 'x', scenario: 'y', seed: 2 })).toBeUndefined();
    const foreign = checkout('someone-elses', { 'notes.txt': 'mine' });
    expect(() => HistoryCache.open(foreign)).toThrow(InputError);
    expect(() => HistoryCache.open(join(foreign, 'notes.txt'))).toThrow(/is an existing file/);
  });

  it('a release whose runs are all cached is not run: the stored results come back as they are', async () => {
    const clone = join(root, 'clone');
    git(root, 'init', '--quiet', clone);
    checkout('clone', { 'package.json': '{"name":"claude-mem","version":"0.0.1"}', 'src/not-a-session-manager.ts': 'throw new Error("never loaded");\n' });
    git(clone, 'add', '--all');
    git(clone, 'commit', '--quiet', '-m', 'a release leaksim could not load');
    const commit = git(clone, 'rev-parse', 'HEAD').trim();
    const scenario = loadScenario('scenarios/steady-week.json');
    const cache = HistoryCache.open(join(root, 'cache-release'));
    const hash = sessionPathHash(join(root, 'clone'));
    const fabricated: RunSummary = { scenario: 'steady-week', seed: 7, verdict: 'fail', error: null, violated: ['sessions-within-cap'], traceHash: 'fabricated', peakSessions: 123, peakHistoryMessages: 456, peakBytes: 789 };
    cache.set({ sessionPath: hash, scenario: scenarioHash(scenario.file), seed: 7 }, fabricated);
    const cached = await runRelease({ clone, commit, scenarios: [scenario], seeds: [7], cache, folder: join(root, 'work-1'), runSeconds: 60 });
    expect(cached).toEqual({ version: '0.0.1', sessionPathHash: hash, error: null, runs: [fabricated] });
    // Without the cache the same release is really run, and fails to load: an error, with no temporary path in it.
    const uncached = await runRelease({ clone, commit, scenarios: [scenario], seeds: [7], cache: undefined, folder: join(root, 'work-2'), runSeconds: 60 });
    expect(uncached.runs).toEqual([]);
    expect(uncached.error).toMatch(/<checkout>/);
    expect(uncached.error).not.toContain(root);
  });
});

describe('bisect', () => {
  /** A line of `length` commits whose verdict changes at `change`; `skip` cannot run. */
  async function search(length: number, change: number, skip: ReadonlySet<number> = new Set()) {
    const commits = Array.from({ length }, (_, index) => `c${index}`);
    const judge = async (commit: string): Promise<BisectStep> => {
      const index = Number(commit.slice(1));
      return { commit, subject: commit, verdict: skip.has(index) ? 'error' : index >= change ? 'pass' : 'fail', note: null };
    };
    return bisect(commits, judge);
  }

  it('finds the first commit with the new verdict in at most 2 + ⌈log2 n⌉ runs, for every place the change can be', async () => {
    for (const length of [2, 3, 5, 8, 33, 230]) {
      for (let change = 1; change < length; change += 1) {
        const found = await search(length, change);
        expect(found).toMatchObject({ outcome: 'changed', first: `c${change}` });
        expect(found.steps.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(length)));
      }
    }
  });

  it('says so when both ends agree', async () => {
    const found = await search(9, 100);
    expect(found).toMatchObject({ outcome: 'unchanged', first: null });
    expect(found.steps).toHaveLength(2);
  });

  it('steps over commits that cannot run; when only they are left, the answer is their span', async () => {
    expect(await search(20, 11, new Set([5, 15]))).toMatchObject({ outcome: 'changed', first: 'c11' });
    // c10 could not run: the first new verdict is c10 or c11, as git bisect would say.
    expect(await search(20, 11, new Set([10]))).toMatchObject({ outcome: 'skipped', first: 'c10', last: 'c11' });
    expect(await search(20, 11, new Set([11]))).toMatchObject({ outcome: 'skipped', first: 'c11', last: 'c12' });
    expect(await search(20, 11, new Set([9, 10, 11]))).toMatchObject({ outcome: 'skipped', first: 'c9', last: 'c12' });
  });
});
