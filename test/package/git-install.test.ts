/**
 * leaksim installed as a git dependency, the way docs/ci.md gives for a project without a registry:
 * `npm install --save-dev git+file://<this repository>#<HEAD>` into an empty project. npm clones
 * the commit, installs leaksim's dev dependencies, runs `prepare` (the build) and installs the
 * result; the project then imports and requires leaksim from plain node and runs the command.
 *
 * What it proves beyond pack-install.test.ts: a clean clone of the committed tree builds on its
 * own (nothing the build needs is untracked or ignored). It installs HEAD: uncommitted changes are
 * not in it. Slow (npm installs every dev dependency): `npm run test:fast` leaves it out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' });
const HEAD = head.status === 0 ? head.stdout.trim() : undefined;
if (!HEAD) console.log('git-install: skipped, this copy of leaksim is not a git checkout (git rev-parse HEAD failed)');

const work = mkdtempSync(join(tmpdir(), 'leaksim-git-'));
const project = join(work, 'consumer');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.NODE_OPTIONS;
  delete env.LEAKSIM_RUN_FROM;
  return env;
}

beforeAll(() => {
  if (!HEAD) return;
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'git-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  execFileSync('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', `git+file://${REPO}#${HEAD}`], { cwd: project, env: userEnv(), stdio: 'ignore' });
});

describe.skipIf(!HEAD)('npm install git+file://…#HEAD', () => {
  it('records the git dependency and installs the built package (prepare ran)', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(manifest.devDependencies.leaksim).toMatch(/^git\+file:/);
    for (const path of ['dist/esm/sim/cli/main.js', 'dist/cjs/index.cjs', 'dist/esm/src/index.d.ts', 'docs/ci.md']) expect(existsSync(join(project, 'node_modules', 'leaksim', path)), path).toBe(true);
  });

  it("import('leaksim'), require('leaksim') and the command work from plain node", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, args, { cwd: project, env: userEnv(), encoding: 'utf8' });
    const imported = run('-e', "import('leaksim').then((m) => process.stdout.write(String(m.FLAW_NAMES.length)))");
    const required = run('-e', "process.stdout.write(String(require('leaksim').FLAW_NAMES.length))");
    expect(imported.stderr).toBe('');
    expect(Number(imported.stdout)).toBeGreaterThan(0);
    expect(required.stdout).toBe(imported.stdout);
    const version = spawnSync(join(project, 'node_modules', '.bin', 'leaksim'), ['--version'], { cwd: project, env: userEnv(), encoding: 'utf8' });
    expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version}\n`);
    expect(version.status).toBe(0);
  });
});
