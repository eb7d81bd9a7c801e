/**
 * Stand-in for claude-mem 13.x's `src/services/telemetry/buffer.ts`, which batches usage events
 * and sends them to PostHog (`posthog-node`, not installed here, and a simulation must send
 * nothing anywhere). Same methods as the real `telemetryBuffer`; none of them keeps anything.
 */
export type RollupReason = 'session_end' | 'worker_shutdown' | 'safety_flush';

export const telemetryBuffer = {
  record(): void {},
  flushSession(): boolean {
    return false;
  },
  drainAllSessions(): void {},
  safetyFlush(): void {},
  flush(): void {},
  start(): void {},
  stop(): void {},
};
