/**
 * The architecture as a test: sim/ is a stack of stages whose imports point only down, with no
 * cycles anywhere (the rules, and what each stage owns, are in .dependency-cruiser.cjs). The same
 * rules are shown to fire on a tree that breaks them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
}

/** Cruises `paths` from `cwd` with the project's rules; returns the violations found. */
function violationsOf(cwd: string, paths: readonly string[]): Violation[] {
  let json: string;
  try {
    json = execFileSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', ...paths], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    // depcruise exits with the number of errors; the JSON is still on stdout.
    json = (error as { stdout: string }).stdout;
  }
  return (JSON.parse(json) as { summary: { violations: Violation[] } }).summary.violations;
}

const scratch = mkdtempSync(join(tmpdir(), 'leaksim-layout-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'tree-'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', allowImportingTsExtensions: true, noEmit: true } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('layout', () => {
  it('the top of sim/ holds only stage folders', () => {
    const files = readdirSync(join(ROOT, 'sim')).filter((name) => !statSync(join(ROOT, 'sim', name)).isDirectory());
    expect(files).toEqual([]);
  });

  it('every import in the repository follows the stages, and none forms a cycle', () => {
    expect(violationsOf(ROOT, ['src', 'sim', 'bin', 'bench', 'test', 'examples'])).toEqual([]);
  });

  it('docs/layout.md draws the stages as the imports are today', () => {
    const check = spawnSync(process.execPath, [join(ROOT, 'scripts/layout-graph.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('an import that points up a stage fails the check', () => {
    const dir = tree({
      'sim/engine/clock.ts': "import { main } from '../cli/main.ts';\nexport const clock = main;\n",
      'sim/cli/main.ts': 'export const main = 1;\n',
    });
    expect(violationsOf(dir, ['sim']).map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`)).toEqual(['engine-imports-down: sim/engine/clock.ts → sim/cli/main.ts']);
  });

  it('a cycle inside one stage fails the check', () => {
    const dir = tree({
      'sim/runs/run.ts': "import { b } from './report.ts';\nexport const a = () => b;\n",
      'sim/runs/report.ts': "import { a } from './run.ts';\nexport const b = () => a;\n",
    });
    expect(violationsOf(dir, ['sim']).map((violation) => violation.rule.name)).toEqual(['no-cycles']);
  });

  it('a file at the top of sim/ fails the check', () => {
    const dir = tree({
      'sim/loose.ts': "import { x } from './engine/x.ts';\nexport const y = x;\n",
      'sim/engine/x.ts': 'export const x = 1;\n',
    });
    expect(violationsOf(dir, ['sim']).map((violation) => violation.rule.name)).toEqual(['sim-top-holds-folders']);
  });
});
