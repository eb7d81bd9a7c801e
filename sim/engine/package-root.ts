/**
 * Where leaksim itself lives: its repository, or its folder in a project's node_modules. Built-in
 * scenarios, the schema and the committed baselines are found from here, and a report is never
 * written into it or any folder above it.
 *
 * leaksim runs either from its TypeScript sources (tsx or vitest, while developing) or from its
 * build (dist/esm/, compiled by `npm run build`; dist/cjs/ for require()). This module is at a
 * different depth in each, so the root is the nearest folder above it whose package.json is
 * leaksim's. The modules leaksim starts in a thread or process of their own are found through
 * `leaksimModule`, so that a build starts compiled JavaScript and never compiles leaksim again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = fileURLToPath(import.meta.url);

function packageRootAbove(file: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'leaksim') return dir;
  }
  throw new Error(`leaksim: no package.json of leaksim's above ${file}`);
}

export const PACKAGE_ROOT = packageRootAbove(HERE);

/** True when this process runs leaksim's .ts sources (through tsx or vitest) rather than its build. */
export const FROM_SOURCE = HERE.endsWith('.ts');

/** Where the compiled ES modules are, beside the sources they mirror (`dist/esm/sim/cli/main.js`). */
export const BUILD_DIR = join(PACKAGE_ROOT, 'dist', 'esm');

/**
 * The file of one of leaksim's modules, given from the package root without extension
 * (`sim/runs/pool/run-child`): the source when running from source, else the compiled one.
 */
export function leaksimModule(pathFromRoot: string): string {
  return FROM_SOURCE ? join(PACKAGE_ROOT, `${pathFromRoot}.ts`) : join(BUILD_DIR, `${pathFromRoot}.js`);
}

/**
 * The entry of a worker thread: from source a plain `.mjs` beside the module that registers tsx in
 * that thread first (a thread does not inherit the main thread's loader), from the build the
 * compiled module itself.
 */
export function workerEntry(pathFromRoot: string): URL {
  return pathToFileURL(FROM_SOURCE ? join(PACKAGE_ROOT, `${pathFromRoot}.mjs`) : join(BUILD_DIR, `${pathFromRoot}.js`));
}

/** The Node flags a child process of leaksim's needs: tsx when running from source, nothing from the build. */
export function childExecArgv(): string[] {
  return FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : [];
}
