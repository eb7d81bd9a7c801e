/**
 * Loading a user's adapter module (.ts, .mts, .cts, .js, .mjs, .cjs), from an ESM or a CommonJS
 * project. Every way it can fail becomes one InputError naming the file and the cause, never a
 * loader's stack trace: a syntax error (with its line), a module that throws while it loads.
 *
 * A plain `import()` comes first, so an adapter in an ESM project shares leaksim's module
 * instances. A `.ts` or `.js` file in a project without `"type": "module"` is CommonJS to Node;
 * written with `import`/`export`, Node then refuses it inside leaksim's ESM graph
 * (ERR_REQUIRE_CYCLE_MODULE). Such a module is loaded again with tsx's `tsImport`, which compiles
 * it on its own terms. (Its imports of leaksim's modules are then separate instances: the driver
 * recognises SessionLimitError by its `code`, not only by its class.)
 *
 * leaksim's build is plain JavaScript and starts without tsx; tsx is registered only when an
 * adapter written in TypeScript is loaded (from the sources, tsx or vitest already compile it).
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { InputError } from '../../src/input-error.ts';
import { errorText } from './target-guard.ts';
import { FROM_SOURCE } from '../engine/package-root.ts';

const TYPESCRIPT_FILE = /\.[cm]?ts$/;
let tsxRegistered = false;

/** Registers tsx in this thread once, so that `import()` compiles a TypeScript adapter. */
async function registerTsx(): Promise<void> {
  if (tsxRegistered) return;
  tsxRegistered = true;
  (await import('tsx/esm/api')).register();
}

export interface AdapterModule {
  readonly createTarget?: unknown;
  readonly description?: unknown;
}

/** Node's refusals of a CommonJS-format module that uses ESM syntax, or an ESM graph reached through require(). */
const FORMAT_CODES = new Set(['ERR_REQUIRE_CYCLE_MODULE', 'ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE', 'ERR_INTERNAL_ASSERTION']);

export async function importAdapter(path: string, name: string): Promise<AdapterModule> {
  const url = pathToFileURL(path).href;
  if (!FROM_SOURCE && TYPESCRIPT_FILE.test(path)) {
    try {
      await registerTsx();
    } catch (error) {
      throw new InputError(name, 0, '', `is TypeScript, which leaksim loads through tsx, and tsx does not load: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  try {
    return adapterExports((await import(url)) as Record<string, unknown>);
  } catch (error) {
    if (!FORMAT_CODES.has((error as { code?: string } | null)?.code ?? '') && !isEsmSyntaxInCommonJs(error)) throw loadError(error, path, name);
  }
  try {
    const { tsImport } = await import('tsx/esm/api');
    return adapterExports((await tsImport(url, import.meta.url)) as Record<string, unknown>);
  } catch (error) {
    throw loadError(error, path, name);
  }
}

/** A CommonJS-compiled module's exports arrive under `default` as well; take the named ones from either. */
function adapterExports(module: Record<string, unknown>): AdapterModule {
  const fallback = (module.default ?? {}) as Record<string, unknown>;
  return { createTarget: module.createTarget ?? fallback.createTarget, description: module.description ?? fallback.description };
}

function isEsmSyntaxInCommonJs(error: unknown): boolean {
  return error instanceof SyntaxError && /Cannot use import statement outside a module|Unexpected token 'export'/.test(error.message);
}

/** One line: what went wrong while loading, with the line of a syntax error. */
function loadError(error: unknown, path: string, name: string): InputError {
  const message = error instanceof Error ? String(error.message) : errorText(error);
  // tsx compiles with esbuild: "Transform failed with 1 error:\n/path/file.ts:2:12: ERROR: Expected ..."
  const transform = /^Transform failed with \d+ errors?:\n.*?:(\d+):\d+: ERROR: (.*)$/m.exec(message);
  if (transform) return new InputError(name, Number(transform[1]), '', `has a syntax error: ${transform[2]}`);
  if (error instanceof SyntaxError) return new InputError(name, syntaxErrorLine(path), '', `has a syntax error: ${message.split('\n')[0]}`);
  // Some loaders (a bundler's, in tests) wrap a JavaScript syntax error in an error of their own.
  const checked = /\.(c|m)?js$/.test(path) ? javascriptSyntaxError(path) : undefined;
  if (checked) return new InputError(name, checked.line, '', `has a syntax error: ${checked.message}`);
  return new InputError(name, 0, '', `throws while it loads: ${error instanceof Error ? `${error.name}: ${message.split('\n')[0]}` : message}`);
}

/**
 * Node's SyntaxError for a JavaScript module carries its line only in the text it prints, not in
 * the error; `node --check` prints "file:///path:LINE" first. Spent only on a module that failed.
 */
function syntaxErrorLine(path: string): number {
  const checked = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const match = /:(\d+)\s*$/m.exec(checked.stderr?.split('\n')[0] ?? '');
  return match ? Number(match[1]) : 0;
}

/** `node --check` on a JavaScript module: its SyntaxError and line, or undefined when it parses. */
function javascriptSyntaxError(path: string): { line: number; message: string } | undefined {
  const checked = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  if (checked.status === 0 || !checked.stderr) return undefined;
  const line = /:(\d+)\s*$/m.exec(checked.stderr.split('\n')[0] ?? '');
  const message = /^SyntaxError: .*$/m.exec(checked.stderr);
  return message ? { line: line ? Number(line[1]) : 0, message: message[0].slice('SyntaxError: '.length) } : undefined;
}
