/**
 * leaksim as another project installs it: `npm pack`, the tarball installed into an empty project
 * (packages from the local npm cache, the registry only for what it lacks), an adapter written
 * there, and the `leaksim` command run from that project's node_modules/.bin.
 *
 * What must hold for a user: the tarball holds what users run and nothing else; installing it
 * downloads no browser and needs no environment variable (memlab's `puppeteer` dependency is
 * met by puppeteer-core, see package.json); `import type { TargetFactory } from 'leaksim'`
 * type-checks (and a wrong adapter does not); built-in scenarios are reachable by name; a passing
 * adapter exits 0 and a leaky one exits 1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

const work = mkdtempSync(join(tmpdir(), 'leaksim-pack-'));
const project = join(work, 'consumer');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a user who has set nothing for puppeteer. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  for (const name of Object.keys(env)) if (name.startsWith('PUPPETEER_') || name.startsWith('npm_config_puppeteer')) delete env[name];
  return env;
}

/** `leaksim …` from the project's node_modules/.bin, in `cwd`: exit code and output. */
function leaksim(cwd: string, ...args: string[]) {
  const result = spawnSync(join(project, 'node_modules', '.bin', 'leaksim'), args, { cwd, env: userEnv(), encoding: 'utf8', timeout: 180_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PASSING_ADAPTER = `import type { TargetFactory } from 'leaksim';
import { referenceTarget } from 'leaksim';

/** An adapter over a session manager that behaves (leaksim's own reference, as a stand-in). */
export const createTarget: TargetFactory = (environment) => referenceTarget(environment);

/** How the heap gate finds this target's sessions and history messages. */
export const description = {
  heap: { session: { constructorName: 'ActiveSession' }, historyMessage: { properties: ['role', 'content'] } },
};
`;

const LEAKY_ADAPTER = `import { BASELINE_FLAWS, leakyTarget, type TargetFactory } from 'leaksim';

/** An adapter over a session manager that leaks (leaksim's leaky baseline, every flaw on). */
export const createTarget: TargetFactory = leakyTarget(BASELINE_FLAWS);
`;

let packedFiles: string[] = [];

beforeAll(() => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed[0]!.files.map((file) => file.path);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed[0]!.filename)], { cwd: project, env: userEnv(), stdio: 'ignore', timeout: 240_000 });
  writeFileSync(join(project, 'adapter.ts'), PASSING_ADAPTER);
  writeFileSync(join(project, 'leaky-adapter.ts'), LEAKY_ADAPTER);
}, 300_000);

describe('the packed tarball', () => {
  it('holds what users run, and no tests, benchmarks or CI scripts', () => {
    for (const path of ['package.json', 'README.md', 'bin/leaksim.js', 'src/index.ts', 'src/contract.ts', 'sim/cli/main.ts', 'sim/runs/pool/run-child.ts', 'sim/heap/probe.ts', 'scenarios/steady-week.json', 'scenarios/scenario.schema.json', 'examples/adapter.ts', 'examples/github-workflow.yml', 'dist/types/src/index.d.ts']) {
      expect(packedFiles).toContain(path);
    }
    // reports/ ships only the reference's committed heap measurements: tune's memory model reads them (sim/check/costs.ts).
    expect(packedFiles.filter((path) => /^reports\//.test(path))).toEqual(['reports/baselines/heap.json']);
    expect(packedFiles.filter((path) => /^(test|bench|\.ci|docs)\/|^tsconfig|^vitest/.test(path))).toEqual([]);
  });

  it('installs without a browser download and without puppeteer (memlab gets puppeteer-core under that name)', () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        const path = join(dir, name);
        if (name === 'puppeteer' && existsSync(join(path, 'package.json'))) found.push(JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')).name);
        if (name === 'node_modules' || name.startsWith('@')) walk(path);
        else if (existsSync(join(path, 'node_modules'))) walk(join(path, 'node_modules'));
      }
    };
    walk(join(project, 'node_modules'));
    expect(found).toEqual(['puppeteer-core']);
    // memlab loads (it reads puppeteer's KnownDevices when it starts).
    expect(execFileSync(process.execPath, ['-e', "process.stdout.write(typeof require('@memlab/core').utils.getSnapshotFromFile)"], { cwd: project, encoding: 'utf8' })).toBe('function');
  });

  it("gives adapters types: import type { TargetFactory } from 'leaksim' checks, a wrong adapter does not", () => {
    const args = ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict'];
    expect(spawnSync(process.execPath, [TSC, ...args, 'adapter.ts', 'leaky-adapter.ts'], { cwd: project, encoding: 'utf8' }).stdout).toBe('');
    writeFileSync(join(project, 'wrong-adapter.ts'), `import type { TargetFactory } from 'leaksim';\nexport const createTarget: TargetFactory = () => ({ start() {} });\n`);
    const wrong = spawnSync(process.execPath, [TSC, ...args, 'wrong-adapter.ts'], { cwd: project, encoding: 'utf8' });
    expect(wrong.status).toBe(2);
    expect(wrong.stdout).toMatch(/wrong-adapter\.ts\(2,\d+\): error TS2740: Type '\{ start\(\): void; \}' is missing the following properties from type 'SessionTarget'/);
  });
});

describe('the leaksim command in a project that installed it', () => {
  it('--version and --help', () => {
    expect(leaksim(project, '--version')).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = leaksim(project, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}check +the CI gate/m);
  });

  it('runs a built-in scenario by name against an adapter: 0 when it passes, 1 when it leaks', () => {
    const passing = leaksim(project, 'run', 'steady-week', '--target', './adapter.ts', '--seed', '1', '--days', '2', '--out', 'reports/passing');
    expect(passing.stderr).toBe('');
    expect(passing.code).toBe(0);
    expect(passing.stdout).toMatch(/^✓ steady-week · \.\/adapter\.ts · seed 1: pass$/m);
    expect(JSON.parse(readFileSync(join(project, 'reports', 'passing', 'summary.json'), 'utf8')).result).toBe('pass');
    const leaky = leaksim(project, 'run', 'steady-week', '--target', './leaky-adapter.ts', '--seed', '1', '--days', '2', '--out', 'reports/leaky');
    expect(leaky.code).toBe(1);
    expect(leaky.stdout).toMatch(/^✗ steady-week · \.\/leaky-adapter\.ts · seed 1: \S+ at day /m);
    // Run from the project that installed leaksim, paths from its root.
    expect(leaky.stdout).toContain('reproduce: npx leaksim run node_modules/leaksim/scenarios/steady-week.json --target leaky-adapter.ts --seed 1 --days 2');
  }, 60_000);

  it('runs the built-in gate from the project (no scenarios folder of its own)', () => {
    const result = leaksim(project, 'check', '--only', 'proper-endings', '--jobs', '2');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^flaws caught: 2\/2 /m);
  }, 120_000);

  it('check --target ./adapter.ts: the gate over an adapter (0 when it passes, 1 when it leaks)', () => {
    const passing = leaksim(project, 'check', '--target', './adapter.ts', '--out', 'reports/check-adapter');
    expect(passing.code).toBe(0);
    expect(JSON.parse(readFileSync(join(project, 'reports', 'check-adapter', 'summary.json'), 'utf8')).result).toBe('pass');
    const leaky = leaksim(project, 'check', '--target', './leaky-adapter.ts', '--out', 'reports/check-leaky');
    expect(leaky.code).toBe(1);
    expect(JSON.parse(readFileSync(join(project, 'reports', 'check-leaky', 'summary.json'), 'utf8')).result).toBe('fail');
  }, 180_000);

  it('check --heap --target ./adapter.ts: the heap gate over an adapter', () => {
    const result = leaksim(project, 'check', '--heap', '--target', './adapter.ts', '--out', 'reports/heap-adapter');
    expect(result.code).toBe(0);
    expect(existsSync(join(project, 'reports', 'heap-adapter', 'summary.json'))).toBe(true);
  }, 180_000);

  it('loads an adapter from a CommonJS project (no "type": "module")', () => {
    const cjs = join(project, 'cjs');
    mkdirSync(cjs, { recursive: true });
    writeFileSync(join(cjs, 'package.json'), `${JSON.stringify({ name: 'cjs-consumer', version: '1.0.0', private: true })}\n`);
    writeFileSync(join(cjs, 'adapter.ts'), PASSING_ADAPTER);
    const result = leaksim(cjs, 'run', 'steady-week', '--target', './adapter.ts', '--seed', '1', '--days', '1');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);
});
