/**
 * Targets by name, as the CLI and scenario files name them:
 *   reference        the fix (src/session-manager.ts)
 *   baseline         the leaky baseline with every 8.5.7 flaw on
 *   twin             the leaky implementation with no flaw on: must behave like the reference
 *   flaw:<name>      the leaky implementation with that one flaw on (a mutant)
 *   <path>.ts|.js    a user's adapter module exporting `createTarget` (a TargetFactory)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BASELINE_FLAWS, FLAW_NAMES, isFlawName, type FlawName } from '../src/baseline/flaws.ts';
import { leakyTarget } from '../src/baseline/leaky-session-manager.ts';
import type { TargetFactory } from '../src/contract.ts';
import { InputError } from '../src/input-error.ts';
import { referenceTarget } from '../src/session-manager.ts';
import { errorText, TargetGuard } from './target-guard.ts';

export interface NamedTarget {
  readonly name: string;
  readonly factory: TargetFactory;
  /** Present for a user's adapter: watches its code for failures (sim/target-guard.ts). */
  readonly guard?: TargetGuard;
}

export const BUILT_IN_TARGETS = ['reference', 'baseline', 'twin', ...FLAW_NAMES.map((flaw) => `flaw:${flaw}`)];

export function builtInTarget(name: string): NamedTarget | undefined {
  if (name === 'reference') return { name, factory: referenceTarget };
  if (name === 'baseline') return { name, factory: leakyTarget(BASELINE_FLAWS) };
  if (name === 'twin') return { name, factory: leakyTarget([]) };
  if (name.startsWith('flaw:') && isFlawName(name.slice(5))) return { name, factory: leakyTarget([name.slice(5) as FlawName]) };
  return undefined;
}

/** A target name that names an adapter module by its path. */
export const ADAPTER_PATH = /\.(c|m)?(t|j)s$/;

/** Resolves a target name, loading an adapter module when given a path. `watch`: see sim/target-guard.ts. */
export async function resolveTarget(name: string, source = '--target', watch?: Int32Array): Promise<NamedTarget> {
  const builtIn = builtInTarget(name);
  if (builtIn) return builtIn;
  if (ADAPTER_PATH.test(name)) return loadAdapter(name, source, watch);
  throw new InputError(source, 0, '', `unknown target '${name}': expected reference, baseline, twin, flaw:<name> (${FLAW_NAMES.join(', ')}) or a path to an adapter module`);
}

/**
 * A JavaScript module's syntax error, with its place: an import's error does not say where (and
 * differs between loaders), `node --check` does ("/path/x.js:3" first, "SyntaxError: ..." later).
 * Run only on the error path, and only for JavaScript (a TypeScript loader's errors carry the place).
 */
function syntaxError(path: string): string | undefined {
  if (!/\.(c|m)?js$/.test(path)) return undefined;
  const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  if (check.status === 0 || !check.stderr) return undefined;
  const place = /^(\S+?):(\d+)\s*$/m.exec(check.stderr);
  const message = /^SyntaxError: .*$/m.exec(check.stderr);
  return message && place ? `${message[0]} (at ${place[1]}:${place[2]})` : undefined;
}

/**
 * A user's adapter module, guarded: every failure of its code is one line (an import that throws,
 * a syntax error, no createTarget), and a run's failures become an error verdict (TargetGuard).
 */
async function loadAdapter(name: string, source: string, watch?: Int32Array): Promise<NamedTarget> {
  const path = resolve(name);
  if (!existsSync(path)) throw new InputError(source, 0, '', `adapter module ${name} does not exist`);
  let module: { createTarget?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { createTarget?: unknown };
  } catch (error) {
    throw new InputError(name, 0, '', `cannot be loaded as an adapter module: ${syntaxError(path) ?? errorText(error)}`);
  }
  if (typeof module.createTarget !== 'function') throw new InputError(name, 0, 'createTarget', 'must be exported: a function (environment) => SessionTarget');
  const guard = new TargetGuard(watch);
  return { name, factory: guard.wrap(module.createTarget as TargetFactory), guard };
}
