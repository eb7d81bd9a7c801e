/**
 * leaksim as another project installs it: the working tree copied as a fresh checkout would be
 * (no dist/), `npm pack` there (its `prepare` builds), the tarball installed into an empty ES-module
 * project (packages from the local npm cache, the registry only for what it lacks) with a CommonJS
 * project inside it, adapters written there, and the `leaksim` command run from node_modules/.bin.
 *
 * What must hold for a user: the tarball holds the build (ES modules with source maps and
 * declarations, a CommonJS bundle) and what users read, and nothing else; installing it downloads
 * no browser and needs no environment variable (memlab's `puppeteer` dependency is met by
 * puppeteer-core, see package.json); `import('leaksim')` and `require('leaksim')` work from plain
 * node; TypeScript finds the types under every module resolution (node10, node16, nodenext,
 * bundler) and a wrong adapter does not type-check; the command runs from the build without tsx
 * unless an adapter is TypeScript; built-in scenarios are reachable by name; a passing adapter
 * (CommonJS, requiring leaksim) exits 0 and a leaky one exits 1.
 *
 * Slow (a pack, an install, whole gates): `npm run test:fast` leaves it out. No timeout depends on
 * the machine's speed: on a loaded machine it only takes longer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
/** Slow end-to-end steps: a bound that only catches a hang, not a slow machine. */
const HANG_MS = 3_600_000;

const work = mkdtempSync(join(tmpdir(), 'leaksim-pack-'));
const project = join(work, 'consumer');
const cjsProject = join(project, 'cjs');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a user who has set nothing for puppeteer and runs node without a loader. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.NODE_OPTIONS;
  delete env.LEAKSIM_RUN_FROM;
  for (const name of Object.keys(env)) if (name.startsWith('PUPPETEER_') || name.startsWith('npm_config_puppeteer')) delete env[name];
  return env;
}

/** `leaksim …` from the project's node_modules/.bin, in `cwd`: exit code and output. */
function leaksim(cwd: string, ...args: string[]) {
  const result = spawnSync(join(project, 'node_modules', '.bin', 'leaksim'), args, { cwd, env: userEnv(), encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Plain `node -e` in `cwd`, no loader: its output, or the error it ended with. */
function node(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd, env: userEnv(), encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** tsc over `files` in `cwd` with these module settings: its diagnostics ('' when it checks). */
function typecheck(cwd: string, module: string, moduleResolution: string, ...files: string[]) {
  const result = spawnSync(process.execPath, [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', module, '--moduleResolution', moduleResolution, ...files], { cwd, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout };
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

/** A CommonJS adapter, as a project without a build step writes one. */
const COMMONJS_ADAPTER = `const { referenceTarget } = require('leaksim');

/** An adapter over a session manager that behaves (leaksim's own reference, as a stand-in). */
exports.createTarget = (environment) => referenceTarget(environment);
`;

/** A consumer that uses values and types of the API (checked under each module setting). */
const TYPED_CONSUMER = `import { FLAW_NAMES, referenceTarget, type FlawName, type TargetFactory } from 'leaksim';

export const createTarget: TargetFactory = (environment) => referenceTarget(environment);
export const firstFlaw: FlawName | undefined = FLAW_NAMES[0];
`;

let packedFiles: string[] = [];
let manifest: { main: string; types: string; exports: Record<string, Record<string, Record<string, string>>> };

beforeAll(() => {
  // A fresh checkout: the files git tracks or would track (no dist/, no reports), the repository's
  // node_modules lent for the build's devDependencies (typescript, esbuild).
  const checkout = join(work, 'checkout');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter((file) => file !== '' && existsSync(join(REPO, file)));
  for (const file of files) {
    mkdirSync(dirname(join(checkout, file)), { recursive: true });
    cpSync(join(REPO, file), join(checkout, file));
  }
  symlinkSync(join(REPO, 'node_modules'), join(checkout, 'node_modules'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: checkout, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed[0]!.files.map((file) => file.path);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed[0]!.filename)], { cwd: project, env: userEnv(), stdio: 'ignore' });
  manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'leaksim', 'package.json'), 'utf8'));
  writeFileSync(join(project, 'adapter.ts'), PASSING_ADAPTER);
  writeFileSync(join(project, 'leaky-adapter.ts'), LEAKY_ADAPTER);
  writeFileSync(join(project, 'commonjs-adapter.cjs'), COMMONJS_ADAPTER);
  writeFileSync(join(project, 'typed-consumer.ts'), TYPED_CONSUMER);
  // A CommonJS project (no "type": "module") inside it, resolving leaksim from the same node_modules.
  mkdirSync(cjsProject);
  writeFileSync(join(cjsProject, 'package.json'), `${JSON.stringify({ name: 'cjs-consumer', version: '1.0.0', private: true })}\n`);
  writeFileSync(join(cjsProject, 'adapter.ts'), PASSING_ADAPTER);
  writeFileSync(join(cjsProject, 'typed-consumer.ts'), TYPED_CONSUMER);
}, HANG_MS);

describe('the packed tarball', () => {
  it('holds the build, the sources its maps point to, the docs, and no tests, benchmarks or CI scripts', () => {
    for (const path of [
      'package.json', 'README.md', 'bin/leaksim.js',
      'dist/esm/src/index.js', 'dist/esm/src/index.js.map', 'dist/esm/src/index.d.ts', 'dist/esm/sim/cli/main.js', 'dist/esm/sim/runs/pool/run-child.js', 'dist/esm/sim/heap/probe.js',
      'dist/esm/sim/tune/tune-worker.js', 'dist/esm/sim/runs/isolated/worker.js', 'dist/esm/sim/targets/claude-mem/resolve-hook.mjs', 'dist/esm/sim/targets/claude-mem/stand-ins/logger.ts',
      'dist/cjs/index.cjs', 'dist/cjs/index.cjs.map', 'dist/cjs/package.json', 'dist/cjs/src/index.d.ts',
      'src/index.ts', 'sim/cli/main.ts', 'scenarios/steady-week.json', 'scenarios/scenario.schema.json', 'examples/adapter.ts', 'examples/github-workflow.yml',
      'docs/ci.md', 'docs/targets.md',
    ]) {
      expect(packedFiles).toContain(path);
    }
    // reports/ ships only the reference's committed heap measurements: tune's memory model reads them (sim/check/costs.ts).
    expect(packedFiles.filter((path) => /^reports\//.test(path))).toEqual(['reports/baselines/heap.json']);
    expect(packedFiles.filter((path) => /^(test|bench|\.ci|scripts)\/|^tsconfig|^vitest|^dist\/types\//.test(path))).toEqual([]);
  });

  it('names its entries and their types for import, require and node10 resolution', () => {
    expect(manifest.main).toBe('./dist/cjs/index.cjs');
    expect(manifest.types).toBe('./dist/cjs/src/index.d.ts');
    expect(manifest.exports['.']).toEqual({
      import: { types: './dist/esm/src/index.d.ts', default: './dist/esm/src/index.js' },
      require: { types: './dist/cjs/src/index.d.ts', default: './dist/cjs/index.cjs' },
    });
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

  it("import('leaksim') and require('leaksim') work from plain node, in an ES-module and a CommonJS project", () => {
    const flawCount = node(REPO, '--import', 'tsx', '-e', "import('./src/baseline/flaws.ts').then((m) => process.stdout.write(String(m.FLAW_NAMES.length)))").stdout;
    expect(Number(flawCount)).toBeGreaterThan(0);
    for (const cwd of [project, cjsProject]) {
      expect(node(cwd, '-e', "import('leaksim').then((m) => process.stdout.write(String(m.FLAW_NAMES.length)))")).toEqual({ code: 0, stdout: flawCount, stderr: '' });
      expect(node(cwd, '-e', "process.stdout.write(String(require('leaksim').FLAW_NAMES.length))")).toEqual({ code: 0, stdout: flawCount, stderr: '' });
    }
    expect(node(project, '--input-type=module', '-e', "import { referenceTarget, SessionLimitError } from 'leaksim'; process.stdout.write(typeof referenceTarget + ' ' + typeof SessionLimitError)").stdout).toBe('function function');
  });

  it('gives TypeScript the types under every module resolution, and a wrong adapter does not check', () => {
    // An ES-module project: nodenext and bundler; a CommonJS one: commonjs (node10), node16 and nodenext.
    expect(typecheck(project, 'nodenext', 'nodenext', 'adapter.ts', 'leaky-adapter.ts', 'typed-consumer.ts')).toEqual({ code: 0, stdout: '' });
    expect(typecheck(project, 'esnext', 'bundler', 'adapter.ts', 'typed-consumer.ts')).toEqual({ code: 0, stdout: '' });
    for (const [module, resolution] of [['commonjs', 'node10'], ['node16', 'node16'], ['nodenext', 'nodenext']] as const) {
      expect(typecheck(cjsProject, module, resolution, 'typed-consumer.ts'), `${module}/${resolution}`).toEqual({ code: 0, stdout: '' });
    }
    writeFileSync(join(project, 'wrong-adapter.ts'), `import type { TargetFactory } from 'leaksim';\nexport const createTarget: TargetFactory = () => ({ start() {} });\n`);
    writeFileSync(join(cjsProject, 'wrong-adapter.ts'), `import type { TargetFactory } from 'leaksim';\nexport const createTarget: TargetFactory = () => ({ start() {} });\n`);
    const missing = /wrong-adapter\.ts\(2,\d+\): error TS2740: Type '\{ start\(\): void; \}' is missing the following properties from type 'SessionTarget'/;
    const wrong = typecheck(project, 'nodenext', 'nodenext', 'wrong-adapter.ts');
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toMatch(missing);
    const wrongCommonJs = typecheck(cjsProject, 'commonjs', 'node10', 'wrong-adapter.ts');
    expect(wrongCommonJs.code).toBe(2);
    expect(wrongCommonJs.stdout).toMatch(missing);
  });
});

describe('the leaksim command runs from the build', () => {
  it('starts, runs a JavaScript adapter and a check worker without tsx installed at all', () => {
    // tsx is only for TypeScript adapters and claude-mem: moved away, nothing else may miss it.
    const tsx = join(project, 'node_modules', 'tsx');
    renameSync(tsx, `${tsx}.away`);
    try {
      expect(leaksim(project, '--version')).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
      const passing = leaksim(project, 'run', 'steady-week', '--target', './commonjs-adapter.cjs', '--seed', '1', '--days', '1', '--out', 'reports/no-tsx');
      expect(passing.stderr).toBe('');
      expect(passing.code).toBe(0);
      const gate = leaksim(project, 'check', '--only', 'proper-endings', '--jobs', '2', '--out', 'reports/no-tsx-check');
      expect(gate.stderr).toBe('');
      expect(gate.code).toBe(0);
      // A TypeScript adapter then needs tsx, and says so in one line.
      const typescript = leaksim(project, 'run', 'steady-week', '--target', './adapter.ts', '--seed', '1', '--days', '1', '--out', 'reports/no-tsx-ts');
      expect(typescript.code).toBe(2);
      expect(typescript.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      renameSync(`${tsx}.away`, tsx);
    }
  }, HANG_MS);
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
  }, HANG_MS);

  it('runs the built-in gate from the project (no scenarios folder of its own)', () => {
    const result = leaksim(project, 'check', '--only', 'proper-endings', '--jobs', '2');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^flaws caught: 2\/2 /m);
  }, HANG_MS);

  it('check --target: the gate over a CommonJS adapter that requires leaksim (0, it passes) and a leaky one (1)', () => {
    const passing = leaksim(project, 'check', '--target', './commonjs-adapter.cjs', '--out', 'reports/check-adapter');
    expect(passing.stderr).toBe('');
    expect(passing.code).toBe(0);
    expect(JSON.parse(readFileSync(join(project, 'reports', 'check-adapter', 'summary.json'), 'utf8')).result).toBe('pass');
    const leaky = leaksim(project, 'check', '--target', './leaky-adapter.ts', '--out', 'reports/check-leaky');
    expect(leaky.code).toBe(1);
    expect(JSON.parse(readFileSync(join(project, 'reports', 'check-leaky', 'summary.json'), 'utf8')).result).toBe('fail');
  }, HANG_MS);

  it('check --heap --target ./adapter.ts: the heap gate over an adapter', () => {
    const result = leaksim(project, 'check', '--heap', '--target', './adapter.ts', '--out', 'reports/heap-adapter');
    expect(result.code).toBe(0);
    expect(existsSync(join(project, 'reports', 'heap-adapter', 'summary.json'))).toBe(true);
  }, HANG_MS);

  it('loads a TypeScript adapter from a CommonJS project (no "type": "module")', () => {
    const result = leaksim(cjsProject, 'run', 'steady-week', '--target', './adapter.ts', '--seed', '1', '--days', '1');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, HANG_MS);
});
