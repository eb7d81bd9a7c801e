import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAW_NAMES } from '../../src/baseline/flaws.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';

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
  }, 180_000);

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
