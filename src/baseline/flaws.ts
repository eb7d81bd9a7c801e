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
  'evicts-latest-idle': 'at the cap, the most recently active idle session is evicted instead of the least recently active one',
  'requeue-at-back': "a crashed or aborted generator's claimed messages go to the back of the queue, behind work queued after them",
  'restart-without-delay': 'a crashed or aborted generator with work pending is restarted at once, without waiting generatorRestartDelayMs',
  'watchdog-from-start': "the watchdog measures a generator's silence from its start, not from its last activity, so a generator working for longer than generatorIdleTimeoutMs is aborted mid-work",
  'trim-leaves-orphan-reply': 'trimming stops as soon as the bounds hold, so a reply whose prompt was trimmed can be left first after the pinned prompt',
  'expirations-uncounted': 'stats() never counts expirations: the counter stays at 0 while idle sessions expire',
  'shutdown-does-not-wait': 'shutdown aborts every generator but resolves without waiting for them to end, so the work they held is left in flight',
  // Slips only the executable model sees: every bound still holds (sim/check/model.ts, matches-model).
  'over-trim': 'history is trimmed while it holds maxHistoryMessages or more (a `>` that became `>=`): one message fewer than the bound allows, context silently lost',
  'ttl-read-as-seconds': 'the settings reader takes CLAUDE_MEM_SESSION_TTL_MINUTES in seconds: with a settings file, sessions expire 60 times too early',
  'wakeup-not-rearmed': 'idle expiries and hung-generator checks share one wake-up timer, which is not re-armed when a new deadline falls before the armed one: idle sessions expire late',
  'tokens-drift-on-trim': "a trimmed message's tokens are taken off the running total rounded down rather than up, so the token count drifts above the history's real size",
  'recovery-skips-in-flight': 'at start-up, only sessions with queued messages are resumed: one whose only pending messages were in flight when the worker stopped waits for its next hook',
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
