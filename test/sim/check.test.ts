import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAW_NAMES } from '../../src/baseline/flaws.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { expectPinnedTraceHashes } from '../helpers/trace-hashes.ts';

/** Every file of a report folder, by relative path, with its bytes. */
function filesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) files[name] = readFileSync(path, 'utf8');
  }
  return files;
}

let unshardedLines: string[] = [];
let unshardedOut = '';

describe('leaksim check', () => {
  it('passes on the shipped scenarios, catches every flaw, and writes the reports', async () => {
    const output = collectOutput();
    const out = join(mkdtempSync(join(tmpdir(), 'leaksim-check-')), 'report');
    const code = await main(['check', '--out', out], output);
    const text = output.stdout.join('\n');
    expect(text).toContain(`flaws caught: ${FLAW_NAMES.length}/${FLAW_NAMES.length}`);
    expect(text).not.toMatch(/NOT as expected/);
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.result).toBe('pass');
    expect(summary.flaws.map((coverage: { flaw: string }) => coverage.flaw)).toEqual(FLAW_NAMES);
    expect(summary.runs.filter((run: { target: string; verdict: string }) => run.target === 'reference' && run.verdict !== 'pass')).toEqual([]);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/<testsuites name="leaksim check" tests="\d+" failures="0">/);
    expect(existsSync(join(out, 'metrics/heavy-month--reference--seed1.csv'))).toBe(true);
    expectPinnedTraceHashes(join(out, 'summary.json'), 'gate');
    unshardedLines = output.stdout.slice(0, -1);
    unshardedOut = out;
  });

  it('three shards on separate machines, merged, give the bytes of the unsharded check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-shards-'));
    const shardRuns: number[] = [];
    for (const [index, jobs] of [[1, '1'], [2, '2'], [3, '2']] as const) {
      const output = collectOutput();
      expect(await main(['check', '--shard', `${index}/3`, '--jobs', jobs, '--out', join(dir, `shard-${index}`)], output)).toBe(0);
      const summary = JSON.parse(readFileSync(join(dir, `shard-${index}`, 'summary.json'), 'utf8'));
      expect(summary.scope.shard).toMatchObject({ index, count: 3, planRuns: unshardedLines.filter((line) => /^[✓✗] /.test(line)).length, plan: expect.stringMatching(/^[0-9a-f]{16}$/) });
      shardRuns.push(summary.runs.length);
    }
    expect(shardRuns.reduce((sum, runs) => sum + runs, 0)).toBe(unshardedLines.filter((line) => /^[✓✗] /.test(line)).length);
    const output = collectOutput();
    // Given in any order: the shard numbers inside the folders put them back in plan order.
    expect(await main(['merge', join(dir, 'shard-3'), join(dir, 'shard-1'), join(dir, 'shard-2'), '--out', join(dir, 'merged')], output)).toBe(0);
    expect(output.stdout.slice(0, -1)).toEqual(unshardedLines);
    expect(filesOf(join(dir, 'merged'))).toEqual(filesOf(unshardedOut));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with exit code 1, names the run and prints the command that reproduces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-check-'));
    const file = join(dir, 'wrong.json');
    // A wrong expectation: the baseline is expected to pass the marathon session.
    writeFileSync(
      file,
      JSON.stringify({
        name: 'wrong',
        description: 'expects the baseline to pass a marathon session',
        days: 1,
        seeds: [3],
        traffic: { developers: 1, sessionsPerDay: 1, promptsPerSession: 10, toolUsesPerPrompt: 20 },
        expect: { reference: 'pass', baseline: 'pass' },
      }),
    );
    const output = collectOutput();
    const code = await main(['check', file, '--out', join(dir, 'report')], output);
    expect(code).toBe(1);
    // The scenario lies outside the repository: the reproduce line names it by its absolute path.
    expect(output.stdout).toContain(`    reproduce: npx leaksim run ${file} --target baseline --seed 3`);
    const markdown = readFileSync(join(dir, 'report', 'summary.md'), 'utf8');
    expect(markdown).toMatch(/^# leaksim check: ✗ 1 unexpected verdict/);
    expect(markdown).toContain('| ❌ | wrong | baseline | 3 | pass | history-within-bound at day 0');
    expect(readFileSync(join(dir, 'report', 'junit.xml'), 'utf8')).toMatch(/<failure message="got history-within-bound at day 0/);
  });
});
