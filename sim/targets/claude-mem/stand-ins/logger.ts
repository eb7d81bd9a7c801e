/**
 * Stand-in for claude-mem's `src/utils/logger.ts` (both layouts). The real logger writes to files
 * under claude-mem's data directory and reads its settings on first use; in a simulation every
 * line would be noise, and nothing may be written beside the user's files. Every method is a
 * no-op except the two that return a value to their caller: `formatTool` (a label) and
 * `happyPathError` (returns the fallback it is given, as the real one does after logging).
 */
export enum LogLevel {
  DEBUG = 0,
  INFO = 1,
  WARN = 2,
  ERROR = 3,
  SILENT = 4,
}

/**
 * The last Error claude-mem handed its logger (its route handlers log the error before answering
 * 500): the bridge reads it to say where a failed route failed (bridge.ts `whereItFailed`).
 */
export const LAST_LOGGED_ERROR = Symbol.for('leaksim.claude-mem.last-logged-error');

function ignore(...args: unknown[]): void {
  const last = args[args.length - 1];
  if (last instanceof Error) (globalThis as Record<symbol, unknown>)[LAST_LOGGED_ERROR] = last;
}

export const logger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  dataIn: ignore,
  dataOut: ignore,
  success: ignore,
  failure: ignore,
  timing: ignore,
  setErrorSink: ignore,
  correlationId: (sessionId: number, observationNumber: number): string => `obs-${sessionId}-${observationNumber}`,
  sessionId: (sessionId: number): string => `session-${sessionId}`,
  formatTool: (toolName: string): string => toolName,
  happyPathError: <T = string>(_component: string, _message: string, _context?: unknown, _data?: unknown, fallback?: T): T => fallback as T,
};
