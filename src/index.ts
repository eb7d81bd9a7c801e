/**
 * What `import … from 'leaksim'` gives: the target contract an adapter implements, and the few
 * functions that run a scenario from code instead of the command line.
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
export type { RetentionSettings } from './settings.ts';
export { DEFAULT_SETTINGS, loadSettings, parseSettings } from './settings.ts';
export type { ConversationMessage, HistoryLimits, Role } from './history.ts';
export { ConversationHistory } from './history.ts';
export type { MessageKind, PendingMessage, SessionRecord } from './pending-store.ts';
export { PendingStore } from './pending-store.ts';
export type { Scenario, Verdict } from '../sim/scenario.ts';
export { loadScenario } from '../sim/scenario.ts';
export type { RunOptions, RunOutcome } from '../sim/run.ts';
export { runScenario } from '../sim/run.ts';
export type { NamedTarget } from '../sim/targets.ts';
export { builtInTarget, resolveTarget } from '../sim/targets.ts';
