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

function ignore(): void {}

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
