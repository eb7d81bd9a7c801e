/**
 * `leaksim tune`: the frontier and the recommendation on hand-made costs, byte-identical outputs
 * whatever --jobs, the exit codes, bad input, and a settings file claude-mem reads back.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings, MINUTE_MS } from '../../src/settings.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { paretoFrontier, recommend, spread, type SettingOutcome } from '../../sim/tune/tune.ts';

const scratch = mkdtempSync(join(tmpdir(), 'leaksim-tune-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A setting with the given mean costs (one seed). */
function setting(index: number, peakBytes: number, coldResumes: number, lostMessages: number, fits = true): SettingOutcome {
  const costs = Object.fromEntries(
    Object.entries({ peakBytes, p95Bytes: peakBytes, coldResumes, droppedHistoryMessages: 0, trimmedMessages: lostMessages, lostMessages, refusedSessions: 0 }).map(([field, value]) => [field, spread([value])]),
  ) as SettingOutcome['costs'];
  return { index, values: { ttlMinutes: index, maxActiveSessions: 1, maxHistoryMessages: 1, maxHistoryTokens: 1 }, settings: undefined as never, runs: [], costs, passed: true, fits, reasons: fits ? [] : ['x'], onFrontier: false };
}

describe('frontier and recommendation', () => {
  it('keeps the settings nothing beats on memory, cold resumes and lost messages', () => {
    const settings = [setting(0, 100, 10, 50), setting(1, 200, 5, 50), setting(2, 250, 6, 60), setting(3, 300, 5, 40), setting(4, 100, 10, 50)];
    // #2 is beaten by #1 on every count; #0 and #4 are equal and both kept.
    expect(paretoFrontier(settings)).toEqual([0, 4, 1, 3]);
  });

  it('recommends the fewest cold resumes, then the fewest lost messages, then the smaller memory, among settings that fit', () => {
    expect(recommend([setting(0, 100, 10, 50), setting(1, 200, 5, 50), setting(2, 150, 5, 50), setting(3, 300, 5, 40, false)])).toBe(2);
    expect(recommend([setting(0, 100, 10, 50), setting(1, 200, 5, 60), setting(2, 150, 5, 50)])).toBe(2);
    expect(recommend([setting(0, 100, 10, 50, false)])).toBeUndefined();
  });
});

async function tune(args: string[]) {
  const output = collectOutput();
  const code = await main(['tune', ...args], output);
  return { code, stdout: output.stdout.join('\n'), stderr: output.stderr.join('\n') };
}

const GRID = ['scenarios/steady-week.json', '--days', '2', '--ttl', '15,240', '--max-sessions', '2,100', '--seeds', '1,2'];

describe('leaksim tune', () => {
  it('prints the table, the frontier and a recommendation, and writes every output, the same bytes whatever --jobs', async () => {
    const one = join(scratch, 'one');
    const two = join(scratch, 'two');
    const first = await tune([...GRID, '--budget-mb', '200', '--jobs', '1', '--out', one]);
    const second = await tune([...GRID, '--budget-mb', '200', '--jobs', '2', '--out', two]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(first.stdout).toMatch(/frontier \(◆/);
    expect(first.stdout).toMatch(/recommended: TTL 240 min, cap 100 sessions/);
    for (const file of ['summary.md', 'summary.json', 'tune.csv', 'report.html', 'settings.json']) {
      const a = readFileSync(join(one, file), 'utf8');
      const b = readFileSync(join(two, file), 'utf8').replaceAll('--jobs 2', '--jobs 1').replaceAll(two, one).replaceAll(relative('.', two), relative('.', one));
      expect(b, file).toBe(a);
    }
    const summary = JSON.parse(readFileSync(join(one, 'summary.json'), 'utf8'));
    expect(summary.settings).toHaveLength(4);
    expect(summary.settings[0].runs.map((run: { seed: number }) => run.seed)).toEqual([1, 2]);
    // A cap of 2 sessions on five developers refuses work: never recommended.
    const capped = summary.settings.filter((entry: { settings: { maxActiveSessions: number } }) => entry.settings.maxActiveSessions === 2);
    expect(capped.every((entry: { fits: boolean; costs: { refusedSessions: { max: number } } }) => !entry.fits && entry.costs.refusedSessions.max > 0)).toBe(true);
    // The settings file is claude-mem's own, and reads back as the recommendation.
    const settings = loadSettings(join(one, 'settings.json'));
    expect(settings.ttlMs).toBe(240 * MINUTE_MS);
    expect(settings.maxActiveSessions).toBe(100);
    expect(readFileSync(join(one, 'tune.csv'), 'utf8').split('\n')[0]).toMatch(/^setting,ttlMinutes,maxActiveSessions,maxHistoryMessages,maxHistoryTokens,peakBytesMean/);
  });

  it('exits 1 and writes no settings file when no setting fits the budget', async () => {
    const out = join(scratch, 'tight');
    const result = await tune(['scenarios/steady-week.json', '--days', '1', '--ttl', '60', '--seeds', '1', '--budget-mb', '0.1', '--jobs', '1', '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no setting fits/);
    expect(existsSync(join(out, 'summary.md'))).toBe(true);
    expect(existsSync(join(out, 'settings.json'))).toBe(false);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/exceeds 0\.1 MB/);
  });

  it('tunes over a traffic file as replay plays it', async () => {
    const result = await tune(['test/fixtures/traffic/sample-content.jsonl', '--ttl', '1,60', '--jobs', '1', '--out', join(scratch, 'traffic')]);
    expect(result.stderr).toBe('');
    expect([0, 1]).toContain(result.code);
    expect(result.stdout).toMatch(/frontier/);
  });

  it.each([
    [['scenarios/steady-week.json', '--ttl', '0'], /--ttl expected comma-separated whole numbers from 1 to 43200, got "0"/],
    [['scenarios/steady-week.json', '--ttl', '15,x'], /--ttl expected comma-separated whole numbers .* got "x"/],
    [['scenarios/steady-week.json', '--max-sessions', '10,10'], /--max-sessions lists 10 twice/],
    [['scenarios/steady-week.json', '--budget-mb', '-3'], /--budget-mb/],
    [['scenarios/steady-week.json', '--jobs', '0'], /--jobs expected a whole number from 1/],
    [['scenarios/steady-week.json', '--target', 'nope'], /unknown target 'nope'/],
    [['scenarios/missing.json'], /scenarios\/missing\.json.*cannot be read/],
    [[], /expected one scenario or traffic file, got 0/],
  ])('rejects bad input with one line and exit 2: %j', async (args, message) => {
    const out = join(scratch, 'never');
    const result = await tune([...args, '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
