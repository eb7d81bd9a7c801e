/**
 * What `import … from 'leaksim'` gives: the target contract an adapter implements, leaksim's
 * reference implementation and leaky baseline (to copy or test against), and the few functions
 * that run a scenario from code instead of the command line.
 *
 *   import type { TargetFactory } from 'leaksim';
 *   export const createTarget: TargetFactory = ({ settings, store, agent, observer }) => ({ … });
 *
 * The package runs its build (`npm run build`): `import` gets this file compiled to an ES module
 * (dist/esm/src/index.js, with its .d.ts), `require` a CommonJS bundle of it (dist/cjs/index.cjs).
 * An ES-module adapter therefore shares these very modules with the `leaksim` command (one
 * `SessionLimitError` class, so the driver's `instanceof` sees the adapter's refusals); a CommonJS
 * one gets copies, and the driver recognises the refusal by its `code`.
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
