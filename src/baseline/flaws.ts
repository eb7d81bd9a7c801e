/**
 * The named flaws of the leaky baseline. Each one alone is a mutant of an otherwise correct
 * manager; all of the 8.5.7 ones together are the baseline that leaked 54 GB. Every gate in
 * leaksim is scored against these names, so they are stable: reports and docs use them as is.
 */
export const FLAWS = {
  'no-idle-cleanup': 'a session whose generator finished stays in memory forever (8.5.7: "idle sessions stay in memory")',
  'unbounded-history': 'conversationHistory is appended to on every prompt and reply and never trimmed (8.5.7)',
  'trim-drops-init-prompt': "history is trimmed as the analysis's trimConversationHistory sketch does, splicing from the front, so the init prompt goes first",
  'no-session-cap': 'no limit on the number of sessions in memory (8.5.7)',
  'duplicate-generator': 'every prompt starts another generator without checking for a running one (8.5.7)',
  'lose-claimed-on-crash': 'claim-and-delete: a generator that dies, or a worker that restarts, loses the messages it had claimed (8.5.7)',
  'no-generator-watchdog': 'a hung generator is never aborted, so its session stays busy forever (8.5.7)',
  'evicts-busy-session': 'at the cap, the least recently active session is evicted even while it has work',
  'cleanup-not-cancelled': 'neither new work nor the next idle period cancels the cleanup timer armed when the session went idle; it fires a TTL after the first',
  'timer-kept-on-delete': "deleting a session leaves its cleanup timer armed, holding the session until it fires",
  'listener-kept-on-delete': "deleting a session leaves its listener on the worker's lifetime signal, holding the session forever",
  'signal-shared-across-runs': "every generator run of a session gets the same AbortSignal, so listeners an agent leaves on it pile up for the session's lifetime",
} as const;

export type FlawName = keyof typeof FLAWS;

export const FLAW_NAMES = Object.keys(FLAWS) as FlawName[];

/** The flaws claude-mem 8.5.7 shipped with, per the issue #532 analysis and the worker's code. */
export const BASELINE_FLAWS: readonly FlawName[] = [
  'no-idle-cleanup',
  'unbounded-history',
  'no-session-cap',
  'duplicate-generator',
  'lose-claimed-on-crash',
  'no-generator-watchdog',
];

export function isFlawName(name: string): name is FlawName {
  return Object.hasOwn(FLAWS, name);
}
