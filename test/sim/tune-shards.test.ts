/**
 * `tune --shard i/n` and `leaksim merge` on tune shards: the GitHub Actions recipe of docs/ci.md
 * (a 400-setting grid over 8 runners) is taken from the page and its leaksim steps run with bash,
 * job by job as runners would, on a small grid in 3 shards; the merged folder is the unsharded
 * run's, byte for byte. Then what merge refuses: shards of another grid, a missing shard, a shard
 * given twice, and a whole tune report.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';

const REPO = resolve(import.meta.dirname, '../..');

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, string | number>;
}
interface Job {
  readonly needs?: string | string[];
  readonly strategy?: { readonly 'fail-fast'?: boolean; readonly matrix: Record<string, (string | number)[]> };
  readonly steps: Step[];
}
interface Workflow {
  readonly env: Record<string, string | number>;
  readonly jobs: { readonly tune: Job; readonly merge: Job };
}

/** The yaml block of docs/ci.md that runs `leaksim tune`. */
function recipeFromDocs(): Workflow {
  const docs = readFileSync(join(REPO, 'docs', 'ci.md'), 'utf8');
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!).filter((block) => block.includes('leaksim tune'));
  expect(blocks).toHaveLength(1);
  return parse(blocks[0]!) as Workflow;
}

const recipe = recipeFromDocs();
const work = mkdtempSync(join(tmpdir(), 'leaksim-tune-shards-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A small grid (4 settings × 1 seed over one day) in place of the recipe's 400 settings, so that the test is quick. */
const SMALL = { GRID: '--ttl 15,240 --max-sessions 2,100 --seeds 1 --days 1 --budget-mb 500', SHARDS: '3' };

/** A project that installed leaksim (node_modules/leaksim is this repository) with its team's scenario. */
function project(name: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  mkdirSync(join(dir, 'scenarios'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: `tune-${name}`, version: '1.0.0', private: true, type: 'module' })}\n`);
  symlinkSync(REPO, join(dir, 'node_modules', 'leaksim'));
  symlinkSync(join('..', 'leaksim', 'bin', 'leaksim.js'), join(dir, 'node_modules', '.bin', 'leaksim'));
  cpSync(join(REPO, 'scenarios', 'steady-week.json'), join(dir, String(recipe.env.SCENARIO)));
  return dir;
}

/** Runs a job's steps that call leaksim or write the job summary, in order, with bash in `cwd`. Returns their exit codes. */
function runJob(job: Job, cwd: string, matrix: Record<string, number>, summaryFile: string): number[] {
  const codes: number[] = [];
  for (const step of job.steps) {
    if (!step.run || !/leaksim|GITHUB_STEP_SUMMARY/.test(step.run)) continue;
    const script = step.run.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_, key: string) => String(matrix[key]));
    const env = { ...process.env, ...Object.fromEntries(Object.entries(recipe.env).map(([key, value]) => [key, String(value)])), ...SMALL, GITHUB_STEP_SUMMARY: summaryFile, CI: 'true' };
    const result = spawnSync('bash', ['--norc', '-euo', 'pipefail', '-c', script], { cwd, encoding: 'utf8', env, timeout: 120_000 });
    if (result.status !== 0) console.error(`step "${step.name ?? script}" exited ${result.status}:\n${result.stderr}`);
    codes.push(result.status ?? -1);
  }
  return codes;
}

/** Every file of a folder, by name, as bytes. */
function folderBytes(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name)).toString('base64')]));
}

async function leaksim(args: string[]) {
  const output = collectOutput();
  const code = await main(args, output);
  return { code, stdout: output.stdout.join('\n'), stderr: output.stderr.join('\n') };
}

describe('the tune recipe of docs/ci.md', () => {
  it('spreads a 400-setting grid over an 8-runner matrix and merges the shards in a final job', () => {
    const grid = String(recipe.env.GRID);
    const sizes = ['--ttl', '--max-sessions', '--max-history', '--max-tokens'].map((flag) => new RegExp(`${flag} (\\S+)`).exec(grid)?.[1]?.split(',').length ?? 1);
    expect(sizes.reduce((product, size) => product * size, 1)).toBe(400);
    const shards = recipe.jobs.tune.strategy!.matrix.shard!;
    expect(shards).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(String(recipe.env.SHARDS)).toBe(String(shards.length));
    expect(recipe.jobs.tune.strategy!['fail-fast']).toBe(false);
    expect(recipe.jobs.tune.steps.find((step) => step.run?.includes('leaksim tune'))!.run).toContain('--shard ${{ matrix.shard }}/$SHARDS');
    expect(recipe.jobs.merge.needs).toBe('tune');
  });

  it("runs: 3 shard jobs, then the merge job on their artifacts, give the unsharded run's folder byte for byte", () => {
    const { tune, merge } = recipe.jobs;
    const upload = tune.steps.find((step) => step.uses?.startsWith('actions/upload-artifact@'))!;
    const download = merge.steps.find((step) => step.uses?.startsWith('actions/download-artifact@'))!;
    const mergeJob = project('merge-job');
    for (const shard of [1, 2, 3]) {
      const dir = project(`tune-job-${shard}`);
      expect(runJob(tune, dir, { shard }, join(work, `tune-${shard}-summary.md`))).toEqual([0]);
      const shardSummary = JSON.parse(readFileSync(join(dir, String(upload.with!.path), 'summary.json'), 'utf8'));
      expect(shardSummary.shard).toMatchObject({ index: shard, count: 3, tasks: 4 });
      expect(shardSummary.runs).toHaveLength(shard === 1 ? 2 : 1);
      // download-artifact with a pattern: one folder per artifact, named after it, under `path`.
      const name = String(upload.with!.name).replace('${{ matrix.shard }}', String(shard));
      cpSync(join(dir, String(upload.with!.path)), join(mergeJob, String(download.with!.path), name), { recursive: true });
    }
    const summary = join(work, 'merge-summary.md');
    expect(runJob(merge, mergeJob, {}, summary)).toEqual([0, 0]);

    // One machine, the whole grid, the same report folder.
    const whole = project('one-machine');
    const env = { ...process.env, SCENARIO: String(recipe.env.SCENARIO), ...SMALL };
    const single = spawnSync('bash', ['--norc', '-euo', 'pipefail', '-c', 'npx leaksim tune $SCENARIO $GRID --jobs 2 --out reports/tune'], { cwd: whole, encoding: 'utf8', env, timeout: 120_000 });
    expect(single.stderr).toBe('');
    expect(single.status).toBe(0);
    const merged = folderBytes(join(mergeJob, 'reports', 'tune'));
    expect(Object.keys(merged)).toEqual(['.leaksim-report', 'report.html', 'settings.json', 'summary.json', 'summary.md', 'tune.csv']);
    expect(merged).toEqual(folderBytes(join(whole, 'reports', 'tune')));
    expect(JSON.parse(readFileSync(join(whole, 'reports', 'tune', 'summary.json'), 'utf8')).settings).toHaveLength(4);
    expect(readFileSync(summary, 'utf8')).toBe(readFileSync(join(mergeJob, 'reports', 'tune', 'summary.md'), 'utf8'));
  }, 300_000);
});

describe('leaksim merge refuses tune shards that are not one whole grid', () => {
  const scenario = 'scenarios/steady-week.json';
  const grid = ['--ttl', '15,240', '--seeds', '1', '--days', '1', '--jobs', '1'];
  const shard = (name: string) => join(work, 'refusals', name);

  it('makes the shards', async () => {
    for (const [name, args] of [
      ['1', [...grid, '--shard', '1/3']],
      ['2', [...grid, '--shard', '2/3']],
      ['3', [...grid, '--shard', '3/3']],
      // Another grid: another TTL, the same number of runs and shards.
      ['other-2', ['--ttl', '15,60', '--seeds', '1', '--days', '1', '--jobs', '1', '--shard', '2/3']],
      ['whole', grid],
    ] as const) {
      const result = await leaksim(['tune', scenario, ...args, '--out', shard(name)]);
      expect(result.stderr).toBe('');
      expect([0, 1]).toContain(result.code);
    }
    expect(readFileSync(join(shard('1'), 'summary.md'), 'utf8')).toMatch(/^# leaksim tune: shard 1\/3 of grid [0-9a-f]{16}\n/);
    const fingerprint = (name: string) => JSON.parse(readFileSync(join(shard(name), 'summary.json'), 'utf8')).shard.grid;
    expect(fingerprint('2')).toBe(fingerprint('1'));
    expect(fingerprint('other-2')).not.toBe(fingerprint('1'));
  }, 120_000);

  it.each([
    ['shards of different grids', ['1', 'other-2', '3'], /other-2\/summary\.json: shard is shard 2\/3 of tune grid [0-9a-f]{16}; .* not the same grid/],
    ['a missing shard', ['1', '3'], /leaksim merge: shard 2\/3 of tune grid [0-9a-f]{16} missing/],
    ['a shard given twice', ['1', '2', '2', '3'], /2\/summary\.json: shard 2\/3 is given twice/],
    ['a whole tune report', ['whole'], /whole\/summary\.json: shard is missing: this is the report of a whole tune run/],
  ])('%s: one line, exit 2, nothing written', async (_, names, message) => {
    const out = join(work, 'refusals', 'never');
    const result = await leaksim(['merge', ...names.map(shard), '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ['a run changed by hand', (body: any) => (body.runs[0].peakBytes = 'lots'), /runs\[0\] peakBytes must be a number/],
    ['a run of a setting the grid does not have', (body: any) => (body.runs[0].setting = 99), /runs\[0\] setting must be a whole number below 2/],
    ['the grid changed by hand', (body: any) => (body.input.grid.ttlMinutes = [15, 60]), /input does not give the grid fingerprint [0-9a-f]{16} the shard names/],
    ['no input', (body: any) => delete body.input, /runs must be a list, beside input and command/],
  ])('%s: one line naming the file and field, exit 2', async (_, change, message) => {
    const dir = join(work, 'refusals', 'tampered');
    rmSync(dir, { recursive: true, force: true });
    cpSync(shard('2'), dir, { recursive: true });
    const body = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    change(body);
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(body));
    const out = join(work, 'refusals', 'never');
    const result = await leaksim(['merge', shard('1'), dir, shard('3'), '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/tampered\/summary\.json/);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it('all three shards, in any order, merge into the whole run', async () => {
    const out = join(work, 'refusals', 'merged');
    const result = await leaksim(['merge', shard('3'), shard('1'), shard('2'), '--out', out]);
    expect(result.stderr).toBe('');
    for (const file of ['summary.json', 'tune.csv', 'report.html']) expect(readFileSync(join(out, file), 'utf8'), file).toBe(readFileSync(join(shard('whole'), file), 'utf8'));
  });

  it('rejects a bad --shard with one line and exit 2', async () => {
    const result = await leaksim(['tune', scenario, ...grid, '--shard', '4/3', '--out', join(work, 'refusals', 'bad')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--shard expected i\/n with 1 ≤ i ≤ n ≤ 256 \(e\.g\. 2\/3\), got "4\/3"/);
    expect(existsSync(join(work, 'refusals', 'bad'))).toBe(false);
  });
});
