/**
 * Targets by name, as the CLI and scenario files name them:
 *   reference        the fix (src/session-manager.ts)
 *   baseline         the leaky baseline with every 8.5.7 flaw on
 *   twin             the leaky implementation with no flaw on: must behave like the reference
 *   flaw:<name>      the leaky implementation with that one flaw on (a mutant)
 *   <path>.ts|.js    a user's adapter module exporting `createTarget` (a TargetFactory)
 *   claude-mem:<path>  claude-mem's own session manager from a checkout (sim/targets/claude-mem/, docs/claude-mem.md)
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { importAdapter } from './adapter-module.ts';
import { probeAdapter } from './adapter-probe.ts';
import { BASELINE_FLAWS, FLAW_NAMES, isFlawName, type FlawName } from '../../src/baseline/flaws.ts';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import type { TargetDescription, TargetFactory } from '../../src/contract.ts';
import { InputError } from '../../src/input-error.ts';
import { CLAUDE_MEM_PREFIX, claudeMemTarget } from './claude-mem/target.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { parseDescription } from './target-description.ts';
import { TargetGuard } from './target-guard.ts';

export interface NamedTarget {
  readonly name: string;
  readonly factory: TargetFactory;
  /** Present for a user's adapter: watches its code for failures (sim/targets/target-guard.ts). */
  readonly guard?: TargetGuard;
  /** What the target declares about itself (src/contract.ts); `{}` keeps leaksim's reference semantics. */
  readonly description: TargetDescription;
  /** The expect file `check --target` uses when none is given (a claude-mem checkout's era), and the line that says so. */
  readonly defaultExpect?: { readonly file: string; readonly because: string };
  /** claude-mem: runs only in an isolated child process (sim/runs/isolated/claude-mem.ts). */
  readonly isolated?: true;
}

/** A history message is a `{ role, content }` literal in every built-in target. */
const HISTORY_MESSAGE = { properties: ['role', 'content'] } as const;
/** The reference and the leaky implementation (every flaw of it too) follow the whole model: matches-model judges them after every event. */
const REFERENCE_DESCRIPTION: TargetDescription = Object.freeze({ followsModel: true, heap: { session: { constructorName: 'ActiveSession' }, historyMessage: HISTORY_MESSAGE } });
const LEAKY_DESCRIPTION: TargetDescription = Object.freeze({ followsModel: true, heap: { session: { constructorName: 'LeakySession' }, historyMessage: HISTORY_MESSAGE } });

export const BUILT_IN_TARGETS = ['reference', 'baseline', 'twin', ...FLAW_NAMES.map((flaw) => `flaw:${flaw}`)];

export function builtInTarget(name: string): NamedTarget | undefined {
  if (name === 'reference') return { name, factory: referenceTarget, description: REFERENCE_DESCRIPTION };
  if (name === 'baseline') return { name, factory: leakyTarget(BASELINE_FLAWS), description: LEAKY_DESCRIPTION };
  if (name === 'twin') return { name, factory: leakyTarget([]), description: LEAKY_DESCRIPTION };
  if (name.startsWith('flaw:') && isFlawName(name.slice(5))) return { name, factory: leakyTarget([name.slice(5) as FlawName]), description: LEAKY_DESCRIPTION };
  return undefined;
}

/** A target name that names an adapter module by its path. */
export const ADAPTER_PATH = /\.(c|m)?(t|j)s$/;

/** Resolves a target name, loading an adapter module when given a path. `watch`: see sim/targets/target-guard.ts. */
export async function resolveTarget(name: string, source = '--target', watch?: Int32Array): Promise<NamedTarget> {
  const builtIn = builtInTarget(name);
  if (builtIn) return builtIn;
  // claude-mem's own code, loaded from the checkout the name points at (sim/targets/claude-mem/). It runs in
  // this thread: its stand-in for bun:sqlite is a loader hook, which a worker thread would not share.
  if (name.startsWith(CLAUDE_MEM_PREFIX)) return claudeMemTarget(name, source);
  if (ADAPTER_PATH.test(name)) return loadAdapter(name, source, watch);
  throw new InputError(source, 0, '', `unknown target '${name}': expected reference, baseline, twin, flaw:<name> (${FLAW_NAMES.join(', ')}), a path to an adapter module, or claude-mem:<path to a claude-mem checkout>`);
}

/**
 * resolveTarget for a command that runs the target elsewhere (each run in its watchdog worker,
 * sim/runs/isolated/): an adapter is checked in a worker thread of its own (sim/targets/adapter-probe.ts) and never
 * loaded into this thread, so nothing it does at import can hang, end or hold this process.
 * The target it returns carries the guard and description; its factory is never called here.
 */
export async function resolveTargetToRunIsolated(name: string, source = '--target'): Promise<NamedTarget> {
  if (!ADAPTER_PATH.test(name) || builtInTarget(name) || name.startsWith(CLAUDE_MEM_PREFIX)) return resolveTarget(name, source);
  const path = resolve(name);
  if (!existsSync(path)) throw new InputError(source, 0, '', `adapter module ${name} does not exist`);
  const description = await probeAdapter(path, name);
  const notHere: TargetFactory = () => {
    throw new Error(`${name} runs only in its watchdog worker (sim/runs/isolated/): it was probed, not loaded, in this thread`);
  };
  return { name, factory: notHere, guard: new TargetGuard(), description };
}

/**
 * A user's adapter module, guarded: every failure of its code is one line (an import that throws,
 * a syntax error, no createTarget, a description that does not parse; sim/targets/adapter-module.ts), and
 * a run's failures become an error verdict (TargetGuard).
 */
async function loadAdapter(name: string, source: string, watch?: Int32Array): Promise<NamedTarget> {
  const path = resolve(name);
  if (!existsSync(path)) throw new InputError(source, 0, '', `adapter module ${name} does not exist`);
  const module = await importAdapter(path, name);
  if (typeof module.createTarget !== 'function') throw new InputError(name, 0, 'createTarget', 'must be exported: a function (environment) => SessionTarget');
  const description = parseDescription(module.description, name);
  const guard = new TargetGuard(watch);
  return { name, factory: guard.wrap(module.createTarget as TargetFactory), guard, description };
}
