/**
 * Targets by name, as the CLI and scenario files name them:
 *   reference        the fix (src/session-manager.ts)
 *   baseline         the leaky baseline with every 8.5.7 flaw on
 *   twin             the leaky implementation with no flaw on: must behave like the reference
 *   flaw:<name>      the leaky implementation with that one flaw on (a mutant)
 *   <path>.ts|.js    a user's adapter module exporting `createTarget` (a TargetFactory)
 *   claude-mem:<path>  claude-mem's own session manager from a checkout (sim/claude-mem/, docs/claude-mem.md)
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importAdapter } from './adapter-module.ts';
import { BASELINE_FLAWS, FLAW_NAMES, isFlawName, type FlawName } from '../src/baseline/flaws.ts';
import { leakyTarget } from '../src/baseline/leaky-session-manager.ts';
import type { TargetDescription, TargetFactory } from '../src/contract.ts';
import { InputError } from '../src/input-error.ts';
import { CLAUDE_MEM_PREFIX, claudeMemTarget } from './claude-mem/target.ts';
import { referenceTarget } from '../src/session-manager.ts';
import { parseDescription } from './target-description.ts';

export interface NamedTarget {
  readonly name: string;
  readonly factory: TargetFactory;
  /** What the target declares about itself (src/contract.ts); `{}` keeps leaksim's reference semantics. */
  readonly description: TargetDescription;
}

/** A history message is a `{ role, content }` literal in every built-in target. */
const HISTORY_MESSAGE = { properties: ['role', 'content'] } as const;
const REFERENCE_DESCRIPTION: TargetDescription = Object.freeze({ heap: { session: { constructorName: 'ActiveSession' }, historyMessage: HISTORY_MESSAGE } });
const LEAKY_DESCRIPTION: TargetDescription = Object.freeze({ heap: { session: { constructorName: 'LeakySession' }, historyMessage: HISTORY_MESSAGE } });

export const BUILT_IN_TARGETS = ['reference', 'baseline', 'twin', ...FLAW_NAMES.map((flaw) => `flaw:${flaw}`)];

export function builtInTarget(name: string): NamedTarget | undefined {
  if (name === 'reference') return { name, factory: referenceTarget, description: REFERENCE_DESCRIPTION };
  if (name === 'baseline') return { name, factory: leakyTarget(BASELINE_FLAWS), description: LEAKY_DESCRIPTION };
  if (name === 'twin') return { name, factory: leakyTarget([]), description: LEAKY_DESCRIPTION };
  if (name.startsWith('flaw:') && isFlawName(name.slice(5))) return { name, factory: leakyTarget([name.slice(5) as FlawName]), description: LEAKY_DESCRIPTION };
  return undefined;
}

/** Resolves a target name, loading an adapter module when given a path. */
export async function resolveTarget(name: string, source = '--target'): Promise<NamedTarget> {
  const builtIn = builtInTarget(name);
  if (builtIn) return builtIn;
  if (name.startsWith(CLAUDE_MEM_PREFIX)) return claudeMemTarget(name, source);
  if (/\.(c|m)?(t|j)s$/.test(name)) {
    const path = resolve(name);
    if (!existsSync(path)) throw new InputError(source, 0, '', `adapter module ${name} does not exist`);
    const module = await importAdapter(path, name);
    if (typeof module.createTarget !== 'function') throw new InputError(name, 0, 'createTarget', 'must be exported: a function (environment) => SessionTarget');
    return { name, factory: guardedFactory(module.createTarget as TargetFactory, name), description: parseDescription(module.description, name) };
  }
  throw new InputError(source, 0, '', `unknown target '${name}': expected reference, baseline, twin, flaw:<name> (${FLAW_NAMES.join(', ')}) a path to an adapter module, or claude-mem:<path to a claude-mem checkout>`);
}

/** createTarget throwing is a broken adapter, reported as one line naming the file (exit 2), not a stack trace. */
function guardedFactory(factory: TargetFactory, file: string): TargetFactory {
  return (environment) => {
    try {
      return factory(environment);
    } catch (error) {
      throw new InputError(file, 0, 'createTarget', `threw ${describeThrown(error)}`);
    }
  };
}

export function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split('\n')[0]}`;
  return String(error);
}
