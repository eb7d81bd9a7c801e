/**
 * `leaksim history` over a small git clone made from the shared claude-mem releases (one tagged
 * commit each): the timeline report and its charts in a real browser, the clone left exactly as
 * it was, the same bytes again (from the cache and without it), shards merged into the unsharded
 * bytes, a release that cannot run as an `error` cell, a regression's exit code, and --bisect
 * finding the commit where a verdict changes. Bad input is one line and exit 2 before any work.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../sim/cli/main.ts';
import { collectOutput } from '../../../sim/cli/output.ts';
import { browserUnavailable, inspectReport, launchBrowser } from '../../helpers/browser.ts';
import { git, makeReleaseClone } from '../../helpers/release-clone.ts';
import { sharedData } from '../../helpers/shared-data.ts';
import { HistoryCache } from '../../../sim/history/cache.ts';
import { HISTORY_RUN_SECONDS, runRelease } from '../../../sim/history/release-runs.ts';
import { loadScenario } from '../../../sim/runs/scenario.ts';

const releases = sharedData('third-party/claude-mem', 'the leaksim history tests over claude-mem releases');
const OUT = 'reports/test-history';
const made: string[] = [];

afterAll(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

async function leaksim(...args: string[]) {
  const output = collectOutput();
  const code = await main(args, output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

function folderBytes(dir: string): Record<string, string> {
  return Object.fromEntries(['summary.md', 'summary.json', 'report.html'].map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

/** Everything a user would notice of a clone: its status, its refs, its worktrees and the hash of every file. */
function cloneState(clone: string): string {
  const files = git(clone, 'ls-files', '-s', '--others').trim();
  const hash = createHash('sha256');
  for (const path of git(clone, 'ls-files', '--cached', '--others').trim().split('\n')) hash.update(path).update(readFileSync(join(clone, path)));
  return [git(clone, 'status', '--porcelain', '--ignored'), git(clone, 'for-each-ref'), git(clone, 'worktree', 'list', '--porcelain'), files, hash.digest('hex')].join('\n--\n');
}

function tempCache(): string {
  const dir = mkdtempSync(join(tmpdir(), 'leaksim-history-cache-test-'));
  made.push(dir);
  return join(dir, 'cache');
}

describe.skipIf(!releases.available)('leaksim history over the shared releases', () => {
  // 8.5.7 runs, 9.1.1 cannot be loaded today (an error cell), 13.15.3 runs.
  const clone = releases.available ? makeReleaseClone(releases.path, [{ folder: '8.5.7' }, { folder: '9.1.1' }, { folder: '13.15.3' }]) : '';
  made.push(clone);
  const cache = tempCache();

  it('writes the timeline: release × invariant and where each invariant started or stopped failing; the clone unchanged', async () => {
    const before = cloneState(clone);
    const result = await leaksim('history', `claude-mem:${clone}`, '--jobs', '2', '--cache', cache, '--out', `${OUT}/whole`);
    expect(result.stderr).toEqual([]);
    expect(cloneState(clone)).toBe(before);
    const summary = JSON.parse(readFileSync(`${OUT}/whole/summary.json`, 'utf8'));
    expect(summary.releases.map((release: { tag: string }) => release.tag)).toEqual(['v8.5.7', 'v9.1.1', 'v13.15.3']);
    const [old, broken, fixed] = summary.releases;
    expect(old.cells['one-generator-per-session']).toBe('fail');
    expect(old.cells['sessions-within-cap']).toBe('fail');
    expect(fixed.cells['one-generator-per-session']).toBe('pass');
    expect(fixed.cells['history-within-bound']).toBe('fail');
    expect(old.peakSessions).toBeGreaterThan(10 * fixed.peakSessions);
    expect(old.peakBytes).toBeGreaterThan(fixed.peakBytes);
    // 9.1.1 runs: its init route starts a generator only when none runs, so one-generator-per-session
    // stops failing there (docs/claude-mem.md, the idle-generators era).
    expect(broken.error).toBeNull();
    expect(summary.transitions).toContainEqual({ invariant: 'one-generator-per-session', change: 'stopped failing', release: 'v9.1.1', after: 'v8.5.7' });
    expect(summary.transitions).toContainEqual({ invariant: 'expiry-not-early', change: 'started failing', release: 'v13.15.3', after: 'v9.1.1' });
    const markdown = readFileSync(`${OUT}/whole/summary.md`, 'utf8');
    expect(markdown).toMatch(/\| v8\.5\.7 \| 8\.5\.7 \| .*FAIL/);
    expect(markdown).toMatch(/`one-generator-per-session` stopped failing at \*\*v9\.1\.1\*\*/);
    expect(result.stdout.at(-1)).toBe(`reports: ${OUT}/whole/summary.md, summary.json, report.html`);
  });

  it('gives the same bytes again: from the cache, without it, and as shards merged', async () => {
    const whole = folderBytes(`${OUT}/whole`);
    await leaksim('history', `claude-mem:${clone}`, '--jobs', '1', '--cache', cache, '--out', `${OUT}/again`);
    expect(folderBytes(`${OUT}/again`)).toEqual(whole);
    await leaksim('history', `claude-mem:${clone}`, '--jobs', '2', '--no-cache', '--out', `${OUT}/uncached`);
    expect(folderBytes(`${OUT}/uncached`)).toEqual(whole);
    for (const index of [1, 2]) {
      const shard = await leaksim('history', `claude-mem:${clone}`, '--shard', `${index}/2`, '--cache', cache, '--out', `${OUT}/shard-${index}`);
      expect(shard.code).toBe(0);
    }
    expect(JSON.parse(readFileSync(`${OUT}/shard-2/summary.json`, 'utf8')).releases.map((release: { tag: string }) => release.tag)).toEqual(['v9.1.1']);
    const merged = await leaksim('merge', `${OUT}/shard-2`, `${OUT}/shard-1`, '--out', `${OUT}/merged`);
    expect(merged.stderr).toEqual([]);
    expect(folderBytes(`${OUT}/merged`)).toEqual(whole);
    const missing = await leaksim('merge', `${OUT}/shard-1`, '--out', `${OUT}/merged-missing`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toEqual([expect.stringMatching(/shard 2\/2 of history plan \w+ missing/)]);
  });

  it('exits 1 when the newest release fails an invariant an earlier one passed (and 0 for one release alone)', async () => {
    // The fixed release tagged first, the leaky one after it: one-generator-per-session regressed.
    const regressed = makeReleaseClone(releases.path, [{ folder: '13.15.3', tag: 'v1.0.0' }, { folder: '8.5.7', tag: 'v2.0.0' }]);
    made.push(regressed);
    const result = await leaksim('history', `claude-mem:${regressed}`, '--cache', cache, '--out', `${OUT}/regressed`);
    expect(result.code).toBe(1);
    expect(JSON.parse(readFileSync(`${OUT}/regressed/summary.json`, 'utf8')).regressions).toContain('one-generator-per-session');
    const alone = await leaksim('history', `claude-mem:${regressed}`, '--from', 'v2.0.0', '--cache', cache, '--out', `${OUT}/alone`);
    expect(alone.code).toBe(0);
  });

  it('--bisect names the first commit where the verdict changes, in O(log n) runs; commits that cannot run are skipped', async () => {
    const line = makeReleaseClone(releases.path, [
      { folder: '8.5.7', tag: 'v8.5.7' },
      { folder: '8.5.7', tag: null, message: 'docs only' },
      { folder: '13.15.3', tag: null, message: 'the 13.x session path' },
      { folder: '13.15.3', tag: null, message: 'later work' },
      { folder: '13.15.3', tag: 'v13.15.3' },
    ]);
    made.push(line);
    const before = cloneState(line);
    const fixCommit = git(line, 'rev-parse', 'HEAD~2').trim();
    const result = await leaksim('history', `claude-mem:${line}`, '--bisect', 'one-generator-per-session', '--from', 'v8.5.7', '--to', 'v13.15.3', '--cache', cache, '--out', `${OUT}/bisect`);
    expect(result.stderr).toEqual([]);
    expect(result.code).toBe(0); // it passes at --to
    const summary = JSON.parse(readFileSync(`${OUT}/bisect/summary.json`, 'utf8'));
    expect(summary).toMatchObject({ outcome: 'changed', before: 'fail', after: 'pass', first: fixCommit, commits: 5 });
    expect(summary.steps.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(5)));
    expect(result.stdout[0]).toBe(`one-generator-per-session: fail → pass, first at ${fixCommit.slice(0, 12)} "the 13.x session path"`);
    expect(cloneState(line)).toBe(before);
    // The other way round: exit 1, the invariant fails at --to.
    const worse = await leaksim('history', `claude-mem:${line}`, '--bisect', 'history-within-bound', '--from', 'v8.5.7', '--to', 'v13.15.3', '--cache', cache, '--out', `${OUT}/bisect-same`);
    expect(worse.code).toBe(1);
    expect(JSON.parse(readFileSync(`${OUT}/bisect-same/summary.json`, 'utf8')).outcome).toBe('unchanged');
  });

  it('--bisect steps over a commit that cannot run, as git bisect skip does', async () => {
    // The middle commit has no session manager: leaksim cannot run it (one line, an error verdict).
    const line = makeReleaseClone(releases.path, [{ folder: '8.5.7', tag: 'v8.5.7' }, { folder: '12.7.5', tag: null, remove: ['src/services/worker/SessionManager.ts'] }, { folder: '13.15.3', tag: 'v13.15.3' }]);
    made.push(line);
    const middle = git(line, 'rev-parse', 'HEAD~1').trim();
    const result = await leaksim('history', `claude-mem:${line}`, '--bisect', 'one-generator-per-session', '--from', 'v8.5.7', '--to', 'v13.15.3', '--cache', cache, '--out', `${OUT}/bisect-skip`);
    const summary = JSON.parse(readFileSync(`${OUT}/bisect-skip/summary.json`, 'utf8'));
    expect(result.code).toBe(0);
    expect(summary.steps.find((step: { commit: string }) => step.commit === middle).verdict).toBe('error');
    expect(summary).toMatchObject({ outcome: 'skipped', first: middle });
  });

  it('a run past the wall-time limit is stopped as an error cell, cached under that limit only: a larger limit runs it', async () => {
    const single = makeReleaseClone(releases.path, [{ folder: '8.5.7' }]);
    made.push(single);
    const commit = git(single, 'rev-parse', 'HEAD').trim();
    const own = HistoryCache.open(tempCache());
    const scenario = loadScenario('scenarios/steady-week.json');
    const work = mkdtempSync(join(tmpdir(), 'leaksim-history-limit-'));
    made.push(work);
    // One second: not even enough to start the child and load claude-mem, so the limit always acts.
    const stopped = await runRelease({ clone: single, commit, scenarios: [scenario], seeds: [1], cache: own, folder: join(work, 'a'), runSeconds: 1 });
    expect(stopped).toMatchObject({ error: expect.stringMatching(/^did not finish within 1 s of wall time/), runs: [] });
    // Stored under that limit: one entry in the cache, which the same limit reads back.
    expect(readdirSync(own.dir).filter((name) => name.endsWith('.json'))).toHaveLength(1);
    expect(await runRelease({ clone: single, commit, scenarios: [scenario], seeds: [1], cache: own, folder: join(work, 'a2'), runSeconds: 1 })).toEqual(stopped);
    const ran = await runRelease({ clone: single, commit, scenarios: [scenario], seeds: [1], cache: own, folder: join(work, 'b'), runSeconds: HISTORY_RUN_SECONDS });
    expect(ran.error).toBeNull();
    expect(ran.runs[0]!.violated).toContain('one-generator-per-session');
  });

  const unavailable = browserUnavailable();
  it.skipIf(unavailable !== undefined)('report.html renders the heat map and the peaks per release in headless chromium', async () => {
    const browser = await launchBrowser();
    try {
      const inspection = await inspectReport(browser, `${OUT}/whole/report.html`);
      expect(inspection.problems).toEqual([]);
      expect(inspection.charts).toEqual(['heat-map', 'peak-sessions', 'peak-history', 'peak-bytes']);
    } finally {
      await browser.close();
    }
  });
});

describe('leaksim history: bad input is one line and exit 2 before any work', () => {
  const empty = mkdtempSync(join(tmpdir(), 'leaksim-history-bad-'));
  made.push(empty);
  const clone = join(empty, 'clone');
  git(empty, 'init', '--quiet', clone);
  writeFileSync(join(clone, 'package.json'), '{"name":"claude-mem","version":"1.0.0"}\n');
  git(clone, 'add', '--all');
  git(clone, 'commit', '--quiet', '-m', 'no release yet');
  git(clone, 'tag', 'not-a-release');
  mkdirSync(join(empty, 'plain'));

  const cases: [string, string[], RegExp][] = [
    ['a path without claude-mem:', [clone], /expected claude-mem:<path to a git clone of claude-mem>/],
    ['a folder that is not a git clone', [`claude-mem:${tmpdir()}/leaksim-no-such-folder`], /is not a folder: expected a git clone of claude-mem/],
    ['a folder that is not a git repository', [`claude-mem:${join(empty, 'plain')}`], /is not a git clone \(git rev-parse --git-dir failed there\)/],
    ['an unknown ref', [`claude-mem:${clone}`, '--to', 'v99.0.0'], /--to names no commit in the clone/],
    ['an empty range', [`claude-mem:${clone}`], /holds no release tag \(vX\.Y\.Z\): nothing to run/],
    ['a bad option', [`claude-mem:${clone}`, '--jobs', '0'], /--jobs expected a whole number from 1 to 256/],
    ['an unknown invariant', [`claude-mem:${clone}`, '--bisect', 'no-such', '--from', 'HEAD'], /--bisect expected an invariant name/],
    ['--bisect without --from', [`claude-mem:${clone}`, '--bisect', 'history-within-bound'], /--from is required with --bisect/],
    ['an unknown scenario', [`claude-mem:${clone}`, '--scenario', 'no-such-scenario'], /neither a scenario file nor a built-in scenario/],
    ['a bad shard', [`claude-mem:${clone}`, '--shard', '3/2'], /--shard expected i\/n/],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    const out = `${OUT}/bad-input`;
    const result = await leaksim('history', ...args, '--out', out, '--cache', join(empty, 'cache'));
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(message);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(empty, 'cache'))).toBe(false);
  });
});
