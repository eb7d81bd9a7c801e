/**
 * Where scenario files come from: a path the user gives, or a built-in scenario by name
 * (`leaksim run steady-week`), found in the scenarios/ folder that ships with leaksim, wherever it
 * is installed (this repository, or a project's node_modules/leaksim).
 *
 * Paths are returned relative to the working directory (`scenarios/steady-week.json` here,
 * `node_modules/leaksim/scenarios/steady-week.json` in a project that installed leaksim): reports
 * and reproduce commands show them, and they must read the same on every machine.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import { PACKAGE_ROOT } from '../engine/package-root.ts';

export const BUILT_IN_SCENARIO_DIR = join(PACKAGE_ROOT, 'scenarios');

/** The built-in scenario folder, as `check` names it by default. */
export function builtInScenarioDir(): string {
  return relative(process.cwd(), BUILT_IN_SCENARIO_DIR) || '.';
}

/** Names of the built-in scenarios, sorted. */
export function builtInScenarioNames(): string[] {
  return scenarioFileNames(BUILT_IN_SCENARIO_DIR).map((name) => name.slice(0, -'.json'.length));
}

/** The scenario files of a folder (*.json but not *.schema.json), sorted by name. */
export function scenarioFileNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !name.endsWith('.schema.json'))
    .sort();
}

/**
 * A scenario argument as a file path: an existing file as given; a bare name (`steady-week`, no
 * folder, no extension) as the built-in scenario of that name; anything else as given, for the
 * reader to report. A bare name that is neither is bad input naming the built-ins.
 */
export function scenarioPath(argument: string, source: string): string {
  if (existsSync(argument) || !/^[\w.-]+$/.test(argument) || argument.endsWith('.json')) return argument;
  const builtIn = join(BUILT_IN_SCENARIO_DIR, `${argument}.json`);
  if (existsSync(builtIn)) return relative(process.cwd(), builtIn);
  throw new InputError(source, 0, '', `'${argument}' is neither a scenario file nor a built-in scenario (${builtInScenarioNames().join(', ')})`);
}
