/**
 * `leaksim merge` prints what the unsharded check prints: the same run lines and, for leaksim's
 * own gate, the same flaw coverage; for an adapter's check (`check --target`), which has no flaw
 * table, no "flaws caught" line at all (it once printed "flaws caught: 0/0").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'leaksim-merge-output-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The printed lines of a command, without the last ("reports: <folder>/…", which names its own folder). */
async function printed(...args: string[]): Promise<string[]> {
  const output = collectOutput();
  const code = await main(args, output);
  expect(output.stderr).toEqual([]);
  expect([0, 1]).toContain(code);
  expect(output.stdout.at(-1)).toMatch(/^reports: /);
  return output.stdout.slice(0, -1);
}

async function wholeAndMerged(name: string, checkArgs: readonly string[]): Promise<{ whole: string[]; merged: string[] }> {
  const whole = await printed(...checkArgs, '--jobs', '1', '--out', join(scratch, name, 'whole'));
  for (const index of [1, 2]) await printed(...checkArgs, '--jobs', '1', '--shard', `${index}/2`, '--out', join(scratch, name, `${index}-of-2`));
  const merged = await printed('merge', join(scratch, name, '1-of-2'), join(scratch, name, '2-of-2'), '--out', join(scratch, name, 'merged'));
  return { whole, merged };
}

describe('leaksim merge prints what the unsharded check prints', () => {
  it("an adapter's check: the run lines, and no flaw coverage", async () => {
    const { whole, merged } = await wholeAndMerged('adapter', ['check', '--target', join(ROOT, 'examples/adapter.ts'), '--only', 'burst-at-cap']);
    expect(merged).toEqual(whole);
    expect(merged.filter((line) => line.startsWith('flaws caught'))).toEqual([]);
    expect(merged.filter((line) => /^[✓✗] burst-at-cap · /.test(line)).length).toBeGreaterThan(0);
  });

  it("leaksim's own gate: the run lines and the flaw coverage", async () => {
    const { whole, merged } = await wholeAndMerged('gate', ['check', '--only', 'proper-endings']);
    expect(merged).toEqual(whole);
    expect(merged.find((line) => line.startsWith('flaws caught'))).toMatch(/^flaws caught: 2\/2 \(not judged here/);
  });
});
