/**
 * How hard the property suite tries. `npm test` runs each property a few times with a fixed seed,
 * so it is quick and gives the same verdict every time; nightly runs go deeper:
 *
 *   LEAKSIM_PROPERTY_RUNS=1000 npx vitest run test/properties      # 1000 runs per property, a fresh seed each time
 *   LEAKSIM_PROPERTY_SEED=1234 npx vitest run test/properties      # a given seed (a failure prints it)
 *   LEAKSIM_PROPERTY_SEED=1234 LEAKSIM_PROPERTY_PATH="12:0:3" npx vitest run test/properties/races.test.ts -t reference
 *                                                                  # straight to a printed counterexample
 *   (a model-based counterexample also prints a replayPath comment: give its value as LEAKSIM_PROPERTY_REPLAY_PATH)
 *
 * The detection table always uses fast-check's default budget (100 runs) and fixed seeds: it
 * measures the properties, so it must not move between runs.
 */
import type fc from 'fast-check';

/** The seed of every quick run (`npm test`): the same verdict every time. */
export const QUICK_SEED = 20_260_105;

/** fast-check's default number of runs: the budget each flaw must be caught within. */
export const DEFAULT_RUN_BUDGET = 100;

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`${name} must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
  return Number(value);
}

export const PROPERTY_RUNS = positiveInteger('LEAKSIM_PROPERTY_RUNS', process.env.LEAKSIM_PROPERTY_RUNS);
const PROPERTY_SEED = process.env.LEAKSIM_PROPERTY_SEED === undefined || process.env.LEAKSIM_PROPERTY_SEED === '' ? undefined : Number(process.env.LEAKSIM_PROPERTY_SEED);
if (PROPERTY_SEED !== undefined && !Number.isSafeInteger(PROPERTY_SEED)) throw new Error(`LEAKSIM_PROPERTY_SEED must be an integer, got ${JSON.stringify(process.env.LEAKSIM_PROPERTY_SEED)}`);

const PROPERTY_PATH = process.env.LEAKSIM_PROPERTY_PATH === '' ? undefined : process.env.LEAKSIM_PROPERTY_PATH;
if (PROPERTY_PATH !== undefined && PROPERTY_SEED === undefined) throw new Error('LEAKSIM_PROPERTY_PATH needs the LEAKSIM_PROPERTY_SEED it was printed with');

/** fast-check's hint for replaying a command sequence (`fc.commands`' replayPath), printed with a model-based counterexample. */
export const COMMANDS_REPLAY_PATH = process.env.LEAKSIM_PROPERTY_REPLAY_PATH === '' ? undefined : process.env.LEAKSIM_PROPERTY_REPLAY_PATH;

/**
 * Parameters for a property checked against the reference: `quickRuns` in `npm test` with a fixed
 * seed; with LEAKSIM_PROPERTY_RUNS, that many runs and (unless LEAKSIM_PROPERTY_SEED says) a
 * fresh seed, which fast-check prints with the path when a run fails.
 */
export function referenceRuns<T>(quickRuns: number): fc.Parameters<T> {
  const deep = PROPERTY_RUNS !== undefined;
  const seed = PROPERTY_SEED ?? (deep ? undefined : QUICK_SEED);
  return { numRuns: PROPERTY_RUNS ?? quickRuns, ...(seed === undefined ? {} : { seed }), ...(PROPERTY_PATH === undefined ? {} : { path: PROPERTY_PATH }), endOnFailure: false };
}

/** How long a vitest test may take for a property scaled by LEAKSIM_PROPERTY_RUNS. */
export function timeoutFor(quickRuns: number, quickTimeoutMs = 60_000): number {
  return PROPERTY_RUNS === undefined ? quickTimeoutMs : Math.max(quickTimeoutMs, Math.ceil((quickTimeoutMs * PROPERTY_RUNS) / quickRuns));
}
