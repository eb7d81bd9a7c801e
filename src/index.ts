/** leaksim's reference implementation and contract, for users who copy or test against it. */
export * from './contract.ts';
export * from './history.ts';
export * from './pending-store.ts';
export * from './settings.ts';
export { InputError } from './input-error.ts';
export { SessionManager, referenceTarget } from './session-manager.ts';
export { LeakySessionManager, leakyTarget } from './baseline/leaky-session-manager.ts';
export { FLAWS, FLAW_NAMES, BASELINE_FLAWS, isFlawName, type FlawName } from './baseline/flaws.ts';
