/**
 * `check --jobs`, `--shard`, `leaksim merge`, and how a subset of the gate judges flaw coverage;
 * plus the command line's front door (`--help`, `--version`, built-in scenarios by name).
 * The full gate sharded three ways and merged is in check.test.ts, beside the full check it matches.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FLAW_NAMES } from '../../src/baseline/flaws.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { builtInScenarioNames, scenarioPath } from '../../sim/runs/scenario-files.ts';
import { check } from '../../sim/cli/check.ts';
import { Charts } from '../../sim/report/html/charts.ts';
import { runReportHtml } from '../../sim/report/html/run-page.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';

const scratch = mkdtempSync(join(tmpdir(), 'leaksim-subsets-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (statSync(join(dir, name)).isFile()) files[name] = readFileSync(join(dir, name), 'utf8');
  }
  return files;
}

async function cli(...args: string[]) {
  const output = collectOutput();
  const code = await main(args, output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

describe('check --jobs', () => {
  it('gives the same lines and the same report bytes with one job or three', async () => {
    const one = await cli('check', '--only', 'steady-week', '--only', 'worker-restart', '--jobs', '1', '--out', join(scratch, 'jobs-1'));
    const three = await cli('check', '--only', 'steady-week', '--only', 'worker-restart', '--jobs', '3', '--out', join(scratch, 'jobs-3'));
    expect([one.code, three.code]).toEqual([0, 0]);
    expect(three.stdout.slice(0, -1)).toEqual(one.stdout.slice(0, -1));
    expect(one.stdout.filter((line) => /^✓ /.test(line))).toHaveLength(26);
    expect(filesOf(join(scratch, 'jobs-3'))).toEqual(filesOf(join(scratch, 'jobs-1')));
  });
});

describe('check --jobs: report.html', () => {
  const scenarios = () => ['abandoned-sessions', 'proper-endings'].map((name) => loadScenario(scenarioPath(name, 'test')));

  it("renders each scenario's charts as its runs finish, so that writing the page after the runs renders none; the page is the bytes of one rendered from scratch", async () => {
    const charts = new Charts();
    const report = await check(scenarios(), collectOutput(), { print: false, jobs: 2, charts });
    expect(charts.rendered).toBe(3 * 2); // three charts a scenario, asked for while the runs went on
    const page = await runReportHtml(report, charts);
    expect(charts.rendered).toBe(3 * 2);
    expect(page).toBe(await runReportHtml(report));
  });

  it("with one job renders nothing during the runs: they share this thread, and a run's fake clock would take the charts' timers", async () => {
    const charts = new Charts();
    await check(scenarios(), collectOutput(), { print: false, jobs: 1, charts });
    expect(charts.rendered).toBe(0);
  });
});

describe('a subset of the gate', () => {
  it('judges flaw coverage over the flaws its runs target, and says which it left out', async () => {
    const { code, stdout } = await cli('check', '--only', 'steady-week', '--out', join(scratch, 'only'));
    expect(code).toBe(0);
    expect(stdout).toContainEqual(expect.stringMatching(/^flaws caught: 5\/5 \(not judged here, no run of this subset targets them: trim-drops-init-prompt, no-session-cap, /));
    const markdown = readFileSync(join(scratch, 'only', 'summary.md'), 'utf8');
    expect(markdown).toMatch(/^# leaksim check: ✓ all verdicts as expected\n/);
    expect(markdown).toContain('A subset of the gate (scenarios narrowed by --only steady-week). Flaw coverage is judged over the 5 flaws its runs target. Not judged here');
    const summary = JSON.parse(readFileSync(join(scratch, 'only', 'summary.json'), 'utf8'));
    expect(summary.result).toBe('pass');
    expect(summary.flaws.map((coverage: { flaw: string }) => coverage.flaw)).toEqual(['no-idle-cleanup', 'unbounded-history', 'duplicate-generator', 'cleanup-not-cancelled', 'ttl-read-as-seconds']);
    expect(summary.scope).toMatchObject({ selection: '--only steady-week', shard: null });
  });

  it('still fails on a flaw it targets and does not catch, and says so in the title', async () => {
    const file = join(scratch, 'misses-a-flaw.json');
    // Light traffic never reaches the cap: the flaw without a session cap passes, so nothing catches it.
    writeFileSync(
      file,
      JSON.stringify({
        name: 'misses-a-flaw',
        description: 'targets no-session-cap with traffic that never reaches the cap',
        days: 1,
        seeds: [1],
        traffic: { developers: 1 },
        expect: { reference: 'pass', flaws: { 'no-session-cap': 'pass' } },
      }),
    );
    const { code, stdout } = await cli('check', file, '--out', join(scratch, 'misses'));
    expect(code).toBe(1);
    expect(stdout).toContain(`flaws caught: 0/1 (not judged here, no run of this subset targets them: ${FLAW_NAMES.filter((flaw) => flaw !== 'no-session-cap').join(', ')})`);
    expect(readFileSync(join(scratch, 'misses', 'summary.md'), 'utf8')).toMatch(/^# leaksim check: ✗ 1 flaw not caught\n/);
  });
});

describe('leaksim merge', () => {
  const shards = join(scratch, 'shards');
  const checkArgs = ['check', '--only', 'burst-at-cap', '--jobs', '1'];

  it('joins shards of a subset into the subset run whole, including a shard with no runs', async () => {
    expect((await cli(...checkArgs, '--out', join(shards, 'whole'))).code).toBe(0);
    // burst-at-cap has 10 runs: shard 11/11 gets none.
    const indexes = Array.from({ length: 11 }, (_, position) => position + 1);
    expect(JSON.parse(readFileSync(join(shards, 'whole', 'summary.json'), 'utf8')).runs).toHaveLength(10);
    for (const index of indexes) expect((await cli(...checkArgs, '--shard', `${index}/11`, '--out', join(shards, `${index}-of-11`))).code).toBe(0);
    expect(JSON.parse(readFileSync(join(shards, '11-of-11', 'summary.json'), 'utf8')).runs).toEqual([]);
    const merged = await cli('merge', ...indexes.map((index) => join(shards, `${index}-of-11`)), '--out', join(shards, 'merged'));
    expect(merged.code).toBe(0);
    expect(filesOf(join(shards, 'merged'))).toEqual(filesOf(join(shards, 'whole')));
  });

  it('refuses a missing shard, a shard given twice, shards of different checks and folders that are not shards (exit 2, one line)', async () => {
    for (const index of [1, 2]) expect((await cli(...checkArgs, '--shard', `${index}/2`, '--out', join(shards, `${index}-of-2`))).code).toBe(0);
    const cases: [string[], string][] = [
      [[join(shards, '1-of-2')], 'leaksim merge: missing shard 2/2: every shard of the check is needed'],
      [[join(shards, '1-of-2'), join(shards, '1-of-2'), join(shards, '2-of-2')], `leaksim merge: shard 1/2 is given twice (${join(shards, '1-of-2')}, ${join(shards, '1-of-2')})`],
      [[join(shards, '1-of-2'), join(shards, '2-of-11')], `leaksim: ${join(shards, '2-of-11', 'summary.json')}: scope is shard 2/11 of a check of 10 runs (--only burst-at-cap), but ${join(shards, '1-of-2', 'summary.json')} is shard 1/2 of 10 runs (--only burst-at-cap): not the same check`],
      [[join(shards, 'whole')], `leaksim: ${join(shards, 'whole', 'summary.json')}: scope.shard is missing: this is not the report of a check --shard run`],
      [[join(shards, 'nothing-here')], `leaksim: ${join(shards, 'nothing-here', 'summary.json')}: cannot be read (ENOENT): expected the report folder of a check --shard run`],
      [[], 'leaksim merge: expected the report folders of every shard of one check'],
    ];
    for (const [dirs, message] of cases) {
      const { code, stderr } = await cli('merge', ...dirs, '--out', join(shards, 'refused'));
      expect(code).toBe(2);
      expect(stderr).toEqual([message]);
    }
  });

  it('refuses shards of two checks with as many runs (told apart by the plan fingerprint)', async () => {
    // Both 10 runs, both narrowed the same way (scenario files given): only the plans differ.
    for (const [name, file] of [['a', 'scenarios/burst-at-cap.json'], ['b', 'scenarios/resume-after-ttl.json']] as const) {
      expect((await cli('check', file, '--jobs', '1', '--shard', name === 'a' ? '1/2' : '2/2', '--out', join(shards, `files-${name}`))).code).toBe(0);
    }
    const { code, stderr } = await cli('merge', join(shards, 'files-a'), join(shards, 'files-b'));
    expect(code).toBe(2);
    expect(stderr).toEqual([`leaksim: ${join(shards, 'files-b', 'summary.json')}: scope is shard 2/2 of a check of 10 runs (scenario files given), but ${join(shards, 'files-a', 'summary.json')} is shard 1/2 of 10 runs (scenario files given): not the same check`]);
  });

  it('refuses a shard whose runs do not match its place in the check', async () => {
    const tampered = join(shards, 'tampered');
    mkdirSync(tampered, { recursive: true });
    const summary = JSON.parse(readFileSync(join(shards, '2-of-2', 'summary.json'), 'utf8'));
    writeFileSync(join(tampered, 'summary.json'), JSON.stringify({ ...summary, runs: summary.runs.slice(1) }));
    const { code, stderr } = await cli('merge', join(shards, '1-of-2'), tampered);
    expect(code).toBe(2);
    expect(stderr).toEqual([`leaksim: ${join(tampered, 'summary.json')}: runs holds 4 runs; shard 2/2 of 10 runs has 5`]);
  });
});

describe('the command line front door', () => {
  it('--help lists every command with a one-line description; --version prints the package version', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    const commands = help.stdout.join('\n').split('\n').filter((line) => /^ {2}\w/.test(line));
    expect(commands.map((line) => line.trim().split(/\s+/)[0])).toEqual(['run', 'check', 'merge', 'replay', 'import', 'record', 'tune', 'history']);
    for (const line of commands) expect(line.trim().split(/\s{2,}/)[1]?.length).toBeGreaterThan(20);
    const version = await cli('--version');
    expect(version).toEqual({ code: 0, stdout: [JSON.parse(readFileSync('package.json', 'utf8')).version], stderr: [] });
  });

  it('runs a built-in scenario by name as well as by path', async () => {
    expect(builtInScenarioNames()).toContain('steady-week');
    const byName = await cli('run', 'steady-week', '--seed', '1', '--days', '1', '--out', join(scratch, 'by-name'));
    const byPath = await cli('run', 'scenarios/steady-week.json', '--seed', '1', '--days', '1', '--out', join(scratch, 'by-path'));
    expect(byName.code).toBe(0);
    expect(byName.stdout.slice(0, -1)).toEqual(byPath.stdout.slice(0, -1));
    const unknown = await cli('run', 'steady-month');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toEqual([`leaksim run: 'steady-month' is neither a scenario file nor a built-in scenario (${builtInScenarioNames().join(', ')})`]);
  });

  it('refuses bad --jobs and --shard values with exit 2', async () => {
    for (const [args, message] of [
      [['--jobs', '0'], /--jobs expected a whole number from 1 to 256, got "0"/],
      [['--shard', '4/3'], /--shard expected i\/n with 1 ≤ i ≤ n ≤ 256 \(e\.g\. 2\/3\), got "4\/3"/],
      [['--shard', '1'], /--shard expected i\/n/],
      [['--heap', '--shard', '1/2'], /--shard applies to the invariant gate, not to --heap/],
    ] as const) {
      const { code, stderr } = await cli('check', ...args);
      expect(code).toBe(2);
      expect(stderr.join('\n')).toMatch(message);
    }
  });
});
