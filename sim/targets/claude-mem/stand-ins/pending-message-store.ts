/**
 * Stand-in for claude-mem's `src/services/sqlite/PendingMessageStore.ts` (SQLite through
 * `bun:sqlite`, which Node cannot load), from 8.x to 13.3. claude-mem constructs it over
 * `sessionStore.db`; leaksim's bridge hands claude-mem a database object of its own
 * (sim/targets/claude-mem/database.ts) that holds the queue, so every method claude-mem calls is
 * forwarded to the method of the same name there (`claimAndDelete` at 8.x, `claimNextMessage` and
 * `confirmProcessed` from 12.x, ...). A method the database does not have is leaksim's gap, not
 * claude-mem's: the error says so and names it.
 */
export class PendingMessageStore {
  constructor(db: Record<string, unknown>, ..._rest: unknown[]) {
    return new Proxy(this, {
      get: (target, key) => {
        if (typeof key === 'symbol' || key === 'then') return Reflect.get(target, key);
        const method = db[key];
        if (typeof method === 'function') return (method as (...args: unknown[]) => unknown).bind(db);
        throw new Error(`leaksim bridge: the database stand-in has no PendingMessageStore.${key}`);
      },
    });
  }
}
