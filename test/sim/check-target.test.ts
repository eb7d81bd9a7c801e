/**
 * `leaksim check --target <adapter> [--expect FILE]`, and adapters that cannot be loaded. Loading
 * runs through the real command line (a child process), because how Node and tsx load a module
 * from an ESM or a CommonJS project is the point.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectPinnedTraceHashes } from '../helpers/trace-hashes.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';

const REPO = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'leaksim-adapters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function leaksim(...args: string[]): { code: number; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, [join(REPO, 'bin/leaksim.js'), ...args], { cwd: REPO, encoding: 'utf8' });
  return { code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
}

describe('check --target', () => {
  it('judges an adapter on every scenario against its --expect file', async () => {
    const output = collectOutput();
    const code = await main(
      ['check', '--target', 'examples/waiting-adapter.ts', '--expect', 'examples/waiting-adapter.expect.json', '--only', 'burst-at-cap', '--only', 'proper-endings', '--out', 'reports/test-check-target'],
      output,
    );
    expect(output.stdout.filter((line) => line.startsWith('✓') || line.startsWith('✗'))).toEqual([
      expect.stringMatching(/^✓ burst-at-cap · examples\/waiting-adapter.ts · seed 1: sessions-within-cap .* \(as expected\)$/),
      expect.stringMatching(/^✓ burst-at-cap · examples\/waiting-adapter.ts · seed 2: sessions-within-cap .* \(as expected\)$/),
      '✓ proper-endings · examples/waiting-adapter.ts · seed 1: pass (as expected)',
      '✓ proper-endings · examples/waiting-adapter.ts · seed 2: pass (as expected)',
    ]);
    expect(code).toBe(0);
  });

  it('holds the waiting adapter to its expect file over every scenario, with the pinned trace hashes', async () => {
    const output = collectOutput();
    const out = join(dir, 'waiting-adapter-check');
    const code = await main(['check', '--target', 'examples/waiting-adapter.ts', '--expect', 'examples/waiting-adapter.expect.json', '--out', out], output);
    expect(output.stdout.filter((line) => line.startsWith('✗'))).toEqual([]);
    expect(code).toBe(0);
    expectPinnedTraceHashes(join(out, 'summary.json'), 'waiting-adapter');
  });

  it('holds the template (examples/adapter.ts) to its expect file over every scenario: only the missing cap fails', async () => {
    const output = collectOutput();
    const out = join(dir, 'template-adapter-check');
    const code = await main(['check', '--target', 'examples/adapter.ts', '--expect', 'examples/adapter.expect.json', '--out', out], output);
    expect(output.stdout.filter((line) => line.startsWith('✗'))).toEqual([]);
    const failing = output.stdout.filter((line) => line.startsWith('✓') && !line.includes(': pass (as expected)'));
    expect(failing).toEqual([
      expect.stringMatching(/^✓ burst-at-cap · examples\/adapter.ts · seed 1: sessions-within-cap /),
      expect.stringMatching(/^✓ burst-at-cap · examples\/adapter.ts · seed 2: sessions-within-cap /),
      expect.stringMatching(/^✓ heap-idle-sessions · examples\/adapter.ts · seed 1: sessions-within-cap /),
    ]);
    expect(code).toBe(0);
  }, 300_000);

  it('holds each seed to its own verdict when the expect file gives one per seed', async () => {
    const file = join(dir, 'by-seed.json');
    writeFileSync(file, '{"burst-at-cap": {"seeds": {"1": {"failsOn": ["sessions-within-cap"]}}}}');
    const output = collectOutput();
    const code = await main(['check', '--target', 'examples/waiting-adapter.ts', '--expect', file, '--only', 'burst-at-cap', '--out', join(dir, 'by-seed')], output);
    expect(output.stdout.filter((line) => line.startsWith('✓') || line.startsWith('✗'))).toEqual([
      expect.stringMatching(/^✓ burst-at-cap · examples\/waiting-adapter.ts · seed 1: sessions-within-cap .* \(as expected\)$/),
      // Seed 2 is not listed: it is expected to pass, and it does not.
      expect.stringMatching(/^✗ burst-at-cap · examples\/waiting-adapter.ts · seed 2: sessions-within-cap .* \(NOT as expected\)$/),
    ]);
    expect(code).toBe(1);
  });

  it('without --expect, every scenario is expected to pass', async () => {
    const output = collectOutput();
    const code = await main(['check', '--target', 'examples/waiting-adapter.ts', '--only', 'burst-at-cap', '--out', 'reports/test-check-target'], output);
    expect(output.stdout[0]).toMatch(/^✗ burst-at-cap · examples\/waiting-adapter.ts · seed 1: sessions-within-cap .* \(NOT as expected\)$/);
    expect(code).toBe(1);
  });

  it.each([
    ['{"steady-week": "fail"}', 'expect.json:1: steady-week expected "pass" or {"failsOn": [invariant names], "why": "..."}, got "fail"'],
    ['{\n  "no-such-scenario": "pass"\n}', 'expect.json:2: no-such-scenario names no scenario; expected one of'],
    ['{"steady-week": {"failsOn": ["no-leak"]}}', 'expect.json:1: steady-week.failsOn.0 is not an invariant'],
    ['{"steady-week": {"failsOn": []}}', 'expect.json:1: steady-week.failsOn must be a non-empty array of invariant names'],
    ['{"steady-week": {"failOn": ["drains-when-quiet"]}}', 'expect.json:1: steady-week.failOn is not a field'],
    ['{"steady-week": "pass",}', 'expect.json:1: is not valid JSON'],
    ['{"steady-week": {"seeds": {"x": "pass"}}}', 'expect.json:1: steady-week.seeds.x is not a seed: expected a whole number from 1'],
    ['{"steady-week": {"seeds": {"1": "pass"}, "why": "w"}}', 'expect.json:1: steady-week with "seeds", holds nothing else'],
  ])('a bad --expect file %s is one line naming the file and field, exit 2', async (text, message) => {
    const file = join(dir, 'expect.json');
    writeFileSync(file, text);
    const output = collectOutput();
    expect(await main(['check', '--target', 'examples/waiting-adapter.ts', '--expect', file], output)).toBe(2);
    expect(output.stderr).toHaveLength(1);
    expect(output.stderr[0]).toContain(`leaksim: ${join(dir, message)}`);
  });

  it('--expect without --target is refused', async () => {
    const output = collectOutput();
    expect(await main(['check', '--expect', 'examples/waiting-adapter.expect.json'], output)).toBe(2);
    expect(output.stderr).toEqual(['leaksim check: --expect only applies with --target']);
  });
});

describe('adapters from any project', () => {
  const adapter = (typed: boolean) =>
    [
      typed ? `import type { TargetFactory } from '${REPO}/src/contract.ts';` : '',
      `import { referenceTarget } from '${REPO}/src/session-manager.ts';`,
      `export const description = { listenersPerSession: 1 };`,
      `export const createTarget${typed ? ': TargetFactory' : ''} = (environment) => referenceTarget(environment);`,
    ].join('\n');

  it.each([
    ['a CommonJS project', 'adapter.ts', true, false],
    ['a CommonJS project', 'adapter.js', false, false],
    ['a CommonJS project', 'adapter.mts', true, false],
    ['a CommonJS project', 'adapter.mjs', false, false],
    ['an ESM project', 'adapter.ts', true, true],
    ['an ESM project', 'adapter.js', false, true],
  ])('in %s, %s is loaded and run', (_kind, name, typed, esm) => {
    const project = join(dir, `${esm ? 'esm' : 'cjs'}-${name.replace('.', '-')}`);
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify(esm ? { name: 'p', type: 'module' } : { name: 'p' }));
    writeFileSync(join(project, name), adapter(typed));
    const { code, stdout, stderr } = leaksim('run', 'scenarios/proper-endings.json', '--target', join(project, name), '--seed', '1', '--days', '1', '--out', 'reports/test-adapter-projects');
    expect(stderr).toBe('');
    expect(stdout).toContain(`✓ proper-endings · ${join(project, name)} · seed 1: pass`);
    expect(code).toBe(0);
  });
});

describe('a broken adapter is one line naming the file and the cause, exit 2', () => {
  it.each([
    ['syntax.ts', 'export const createTarget = (\n  x: number => 1;\n', ':2: has a syntax error: Expected ")" but found "=>"'],
    ['syntax.mjs', 'export const createTarget = (\n  x => 1;\n', ":2: has a syntax error: Unexpected token ';'"],
    ['throws.ts', 'throw new Error("database file missing");\nexport const createTarget = () => 1;\n', ': throws while it loads: Error: database file missing'],
    ['no-factory.ts', 'export const makeTarget = () => 1;\n', ': createTarget must be exported: a function (environment) => SessionTarget'],
    // createTarget runs inside the run (in the watchdog's worker), so it is reported as the run's error, with its reproduce line.
    ['factory-throws.ts', 'export function createTarget() { throw new Error("no such manager"); }\n', /^leaksim check: target (\S+factory-throws\.ts): createTarget threw Error: no such manager \(seed 1\); reproduce: npx leaksim run scenarios\/proper-endings\.json --target \1 --seed 1\n$/],
    ['bad-description.ts', 'export const description = { queue: "disk" };\nexport const createTarget = () => 1;\n', ": description.queue must be 'persisted' or 'memory', got \"disk\""],
  ] as const)('%s', (name, text, message) => {
    writeFileSync(join(dir, name), text);
    const { code, stdout, stderr } = leaksim('check', '--target', join(dir, name), '--only', 'proper-endings', '--out', 'reports/test-broken-adapter');
    if (typeof message === 'string') expect(stderr).toBe(`leaksim: ${join(dir, name)}${message}\n`);
    else expect(stderr).toMatch(message);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });
});
