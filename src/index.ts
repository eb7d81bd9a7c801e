/**
 * What `import … from 'leaksim'` gives: the target contract an adapter implements, leaksim's
 * reference implementation and leaky baseline (to copy or test against), and the few functions
 * that run a scenario from code instead of the command line.
 *
 *   import type { TargetFactory } from 'leaksim';
 *   export const createTarget: TargetFactory = ({ settings, store, agent, observer }) => ({ … });
 *
 * Types come from declarations built at packing time (dist/types/, `npm run build:types`); the
 * runtime entry is this TypeScript file, loaded through tsx, which the `leaksim` command registers
 * before it loads an adapter. An adapter therefore shares these very modules with the simulator
 * (one `SessionLimitError` class, so the driver's `instanceof` sees the adapter's refusals).
 */
export * from './contract.ts';
export * from './history.ts';
export * from './pending-store.ts';
export * from './settings.ts';
export { InputError } from './input-error.ts';
export { SessionManager, referenceTarget } from './session-manager.ts';
export { LeakySessionManager, leakyTarget } from './baseline/leaky-session-manager.ts';
export { FLAWS, FLAW_NAMES, BASELINE_FLAWS, isFlawName, type FlawName } from './baseline/flaws.ts';
export type { Scenario, Verdict } from '../sim/runs/scenario.ts';
export { loadScenario } from '../sim/runs/scenario.ts';
export type { RunOptions, RunOutcome } from '../sim/runs/run.ts';
export { runScenario } from '../sim/runs/run.ts';
export type { NamedTarget } from '../sim/targets/targets.ts';
export { builtInTarget, resolveTarget } from '../sim/targets/targets.ts';
