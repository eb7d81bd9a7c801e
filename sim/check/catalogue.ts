/**
 * The invariants by name: the stable names used in code, reports, expect files and docs, each
 * with the one line that says what it guarantees. Order matters: a name's position is its trace
 * code, so new invariants are appended.
 */
export const INVARIANTS = {
  'sessions-within-cap': 'never more than maxActiveSessions sessions in memory',
  'history-within-bound': 'every history holds at most maxHistoryMessages messages and maxHistoryTokens tokens',
  'init-prompt-kept': "a session's first history message is always the prompt it was created with",
  'no-busy-eviction': 'a session with a running generator or pending messages is never evicted or expired',
  'expiry-not-early': 'an idle session is never expired before it has been idle for the TTL',
  'idle-expired-in-time': 'an idle session is gone within the TTL plus the expiry granularity',
  'no-lost-message': 'every queued message is processed, still pending, or dropped by an explicit delete',
  'one-generator-per-session': 'at most one generator runs for a session at any moment',
  'timers-bounded': 'timers held are at most the active sessions plus a small constant',
  'listeners-bounded': 'listeners held are at most the active sessions plus a small constant',
  'removals-reported': "the target's session count matches the sessions created minus the removals it reported",
  'drains-when-quiet': 'once traffic stops and the TTL passes: no session, timer, listener or pending message is left',
  'clean-shutdown': 'after shutdown: no session, timer or listener is left',
  // The reference's rules that can be seen from outside (appended, so older names keep their trace codes).
  'eviction-order': 'an evicted session is the least recently active idle one',
  'requeued-first': 'a message handed back by a generator that ended without finishing it reaches the agent before any younger message of its session',
  'restart-after-delay': 'a generator that crashed or was aborted is not restarted before generatorRestartDelayMs, unless new work for its session arrived',
  'watchdog-not-early': 'the target never aborts the generator of a session it keeps unless the generator has been silent for generatorIdleTimeoutMs',
  'no-orphan-reply': 'after the pinned prompt, a history never starts with a reply (a reply whose prompt was trimmed)',
  'stats-agree': 'the counters in stats() agree with what the driver saw: sessions, live generators, history totals, refusals, evictions, expirations',
  'shutdown-waits': 'shutdown resolves only once every generator has ended, and leaves no message in flight',
  // What a target does to the run itself (sim/runs/run.ts, "target faults"): verdicts, not bad input.
  'target-responds': "every call into the target returns or settles, with a value or a SessionLimitError: it never throws or rejects, spins, never settles, exits the process or crashes the thread it runs in",
  'no-restart-storm': 'the target never restarts generators (or fires zero-delay timers) without bound between two events: a crashing generator is restarted after a delay',
  // Conformance to the executable model (sim/check/model.ts), for targets that declare followsModel.
  'matches-model': 'after every event, the target holds what the model of the retention rules holds: the same sessions, histories, expiries, evictions and queues',
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export const INVARIANT_NAMES = Object.keys(INVARIANTS) as InvariantName[];
