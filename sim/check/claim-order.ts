/**
 * Queue order as the agent sees it, for the `requeued-first` invariant: a message that a
 * generator claimed and never finished (it crashed, was aborted, or died with its worker) goes
 * back to the front of its session's queue, so it must reach the agent again before any younger
 * message of that session.
 *
 * Per session it keeps only what is in play: the ids claimed and not yet acknowledged (`held`),
 * and the ids handed back by runs that ended (`returned`, oldest first). An entry is dropped as
 * soon as both are empty, so the cost follows in-flight work, not the number of sessions. A
 * returned id that the store no longer holds (dropped with its session, or lost by a flawed
 * target: no-lost-message's to judge) is pruned before it can be held against a claim.
 */
import type { PendingMessage, PendingStore } from '../../src/pending-store.ts';

interface SessionClaims {
  readonly held: Set<number>;
  returned: number[];
}

export type ClaimOrderFailure = (atMs: number, detail: string, sessionDbId: number) => void;

export class ClaimOrder {
  readonly #store: PendingStore;
  readonly #fail: ClaimOrderFailure;
  readonly #sessions = new Map<number, SessionClaims>();

  constructor(store: PendingStore, fail: ClaimOrderFailure) {
    this.#store = store;
    this.#fail = fail;
  }

  claimed(message: PendingMessage, nowMs: number): void {
    const sessionDbId = message.sessionDbId;
    let claims = this.#sessions.get(sessionDbId);
    if (!claims) {
      claims = { held: new Set(), returned: [] };
      this.#sessions.set(sessionDbId, claims);
    }
    if (claims.returned.length > 0 && claims.returned[0] !== message.id) {
      claims.returned = claims.returned.filter((id) => id !== message.id && this.#store.isPending(sessionDbId, id));
      const oldest = claims.returned[0];
      if (oldest !== undefined && oldest < message.id) {
        this.#fail(
          nowMs,
          `message ${message.id} of session ${sessionDbId} reached the agent before message ${oldest}, which a generator handed back earlier: requeued work must go back to the front of the queue`,
          sessionDbId,
        );
        claims.returned = []; // reported once; the order from here on is judged afresh
      }
    } else if (claims.returned[0] === message.id) {
      claims.returned.shift();
    }
    claims.held.add(message.id);
  }

  acknowledged(message: PendingMessage): void {
    const claims = this.#sessions.get(message.sessionDbId);
    if (!claims) return;
    claims.held.delete(message.id);
    this.#forgetIfEmpty(message.sessionDbId, claims);
  }

  /** A run of this session ended: whatever the session's runs held and did not finish is handed back. */
  runEnded(sessionDbId: number): void {
    const claims = this.#sessions.get(sessionDbId);
    if (!claims || claims.held.size === 0) return;
    this.#handBack(claims);
  }

  /** The worker died: every held message is handed back (the new worker recovers it). */
  workerRestarted(): void {
    for (const claims of this.#sessions.values()) this.#handBack(claims);
  }

  /** The session's queue was dropped (deleted, evicted or expired). */
  dropped(sessionDbId: number): void {
    this.#sessions.delete(sessionDbId);
  }

  #handBack(claims: SessionClaims): void {
    claims.returned = [...claims.returned, ...claims.held].sort((a, b) => a - b);
    claims.held.clear();
  }

  #forgetIfEmpty(sessionDbId: number, claims: SessionClaims): void {
    if (claims.held.size === 0 && claims.returned.length === 0) this.#sessions.delete(sessionDbId);
  }
}
