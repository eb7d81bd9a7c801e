/**
 * Stand-in for claude-mem 8.5.x's `src/services/sqlite/PendingMessageStore.ts` (SQLite through
 * `bun:sqlite`, which Node cannot load). claude-mem constructs it over `sessionStore.db`; leaksim's
 * bridge hands claude-mem a database object of its own (sim/targets/claude-mem/database.ts) whose
 * queue methods map onto leaksim's PendingStore, so this class only forwards to it.
 */
interface QueueDatabase {
  enqueue(sessionDbId: number, contentSessionId: string, message: unknown): number;
  claimAndDelete(sessionDbId: number): unknown;
  toPendingMessage(message: unknown): unknown;
  getPendingCount(sessionDbId: number): number;
  hasAnyPendingWork(): boolean;
  markSessionMessagesFailed(sessionDbId: number): number;
  getSessionsWithPendingMessages(): number[];
  resetStuckMessages(thresholdMs: number): number;
}

export class PendingMessageStore {
  readonly #db: QueueDatabase;

  constructor(db: QueueDatabase, _maxRetries = 3) {
    this.#db = db;
  }

  enqueue(sessionDbId: number, contentSessionId: string, message: unknown): number {
    return this.#db.enqueue(sessionDbId, contentSessionId, message);
  }
  claimAndDelete(sessionDbId: number): unknown {
    return this.#db.claimAndDelete(sessionDbId);
  }
  toPendingMessage(message: unknown): unknown {
    return this.#db.toPendingMessage(message);
  }
  getPendingCount(sessionDbId: number): number {
    return this.#db.getPendingCount(sessionDbId);
  }
  hasAnyPendingWork(): boolean {
    return this.#db.hasAnyPendingWork();
  }
  markSessionMessagesFailed(sessionDbId: number): number {
    return this.#db.markSessionMessagesFailed(sessionDbId);
  }
  getSessionsWithPendingMessages(): number[] {
    return this.#db.getSessionsWithPendingMessages();
  }
  resetStuckMessages(thresholdMs: number): number {
    return this.#db.resetStuckMessages(thresholdMs);
  }
}
