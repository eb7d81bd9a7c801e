/**
 * What a run's retention settings cost, in three currencies a maintainer weighs against each other:
 *
 *   memory        retained bytes, from a stated model (below) applied to every metric sample;
 *                 the peak and the 95th percentile over the run.
 *   context lost  what the agent no longer sees of a conversation that was still going:
 *                 - cold resumes: hooks (prompt, tool use, stop) that re-create a session in memory
 *                   whose previous removal was an expiry or an eviction. The hook proves that the
 *                   conversation went on; the session comes back without its history. A session
 *                   that expires and is never heard from again (abandoned, ended) costs nothing.
 *                   Removals by delete/complete, shutdown or a worker restart are not counted: they
 *                   are not retention decisions.
 *                 - dropped messages: for each cold resume, the messages its history held when it
 *                   was removed.
 *                 - trimmed messages: messages the history bounds pushed out (the target's count).
 *                 `lostMessages` = dropped + trimmed (disjoint: a trimmed message is no longer in
 *                 the history that is later dropped).
 *   work refused  sessions refused at the cap: each is a hook call the worker turned away.
 *
 * The driver feeds a `CostAccount` with four small calls (what a route created, what a history
 * held, what was removed and why); memory is computed from the samples after the run, with the
 * memory model the caller hands in (sim/heap-analysis/memory-model.ts reads the committed one).
 */
import { MINUTE_MS, type RetentionSettings } from '../../src/settings.ts';
import type { RemovalReason } from '../../src/contract.ts';

export interface MemoryModel {
  /** A session in memory without its history (its record, timers' closures, maps' entries). */
  readonly bytesPerSession: number;
  readonly bytesPerHistoryMessage: number;
  /** Where the numbers come from, said in reports. */
  readonly source: string;
}

/** Retained bytes of a moment with this many sessions and history messages in memory. */
export function retainedBytes(model: MemoryModel, activeSessions: number, historyMessages: number): number {
  return activeSessions * model.bytesPerSession + historyMessages * model.bytesPerHistoryMessage;
}

/**
 * Context-lost counters, fed by the driver as the run goes. Sessions are known by their database
 * id, which stays the same for a content session however often it leaves memory and comes back.
 */
export class CostAccount {
  /** Sessions in memory: the history size last seen (histories change only at hooks and generator runs). */
  readonly #historyById = new Map<number, number>();
  /**
   * Sessions whose last removal was an expiry or an eviction, with the messages their history held
   * then. Bounded by the distinct sessions of the traffic.
   */
  readonly #droppedById = new Map<number, number>();
  #coldResumes = 0;
  #droppedMessages = 0;

  /** A route call or a generator run ended; `historyMessages` is what the session holds now. */
  sawHistory(sessionDbId: number, historyMessages: number | undefined): void {
    if (historyMessages !== undefined) this.#historyById.set(sessionDbId, historyMessages);
  }

  removed(sessionDbId: number, reason: RemovalReason): void {
    const messages = this.#historyById.get(sessionDbId) ?? 0;
    this.#historyById.delete(sessionDbId);
    if (reason === 'expired' || reason === 'evicted') this.#droppedById.set(sessionDbId, messages);
    else this.#droppedById.delete(sessionDbId);
  }

  /** A hook created this session in memory. */
  created(sessionDbId: number): void {
    const dropped = this.#droppedById.get(sessionDbId);
    if (dropped === undefined) return;
    this.#droppedById.delete(sessionDbId);
    this.#coldResumes += 1;
    this.#droppedMessages += dropped;
  }

  get coldResumes(): number {
    return this.#coldResumes;
  }

  get droppedHistoryMessages(): number {
    return this.#droppedMessages;
  }
}

export interface RunCosts {
  readonly memory: {
    readonly peakBytes: number;
    readonly p95Bytes: number;
    readonly model: MemoryModel;
  };
  readonly contextLost: {
    readonly coldResumes: number;
    readonly droppedHistoryMessages: number;
    readonly trimmedMessages: number;
    readonly lostMessages: number;
  };
  readonly workRefused: {
    readonly refusedSessions: number;
  };
}

interface CostInputs {
  readonly totals: { readonly coldResumes: number; readonly droppedHistoryMessages: number; readonly trimmedMessages: number; readonly refusedSessions: number };
  readonly samples: readonly { readonly activeSessions: number; readonly historyMessages: number }[];
}

/** The costs of one finished run. */
export function runCosts(result: CostInputs, model: MemoryModel): RunCosts {
  const bytes = result.samples.map((sample) => retainedBytes(model, sample.activeSessions, sample.historyMessages)).sort((a, b) => a - b);
  const { totals } = result;
  return {
    memory: { peakBytes: bytes.at(-1) ?? 0, p95Bytes: percentile(bytes, 95), model },
    contextLost: {
      coldResumes: totals.coldResumes,
      droppedHistoryMessages: totals.droppedHistoryMessages,
      trimmedMessages: totals.trimmedMessages,
      lostMessages: totals.droppedHistoryMessages + totals.trimmedMessages,
    },
    workRefused: { refusedSessions: totals.refusedSessions },
  };
}

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], percent: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1)]!;
}

/** The settings as reports state them, in the units people set them in. */
export function settingsJson(settings: RetentionSettings): Record<string, number> {
  return {
    ttlMinutes: settings.ttlMs / MINUTE_MS,
    maxActiveSessions: settings.maxActiveSessions,
    maxHistoryMessages: settings.maxHistoryMessages,
    maxHistoryTokens: settings.maxHistoryTokens,
    generatorIdleTimeoutMinutes: settings.generatorIdleTimeoutMs / MINUTE_MS,
    generatorRestartDelayMs: settings.generatorRestartDelayMs,
  };
}

/** "TTL 60 min, cap 100 sessions, history 50 messages / 100,000 tokens". */
export function describeSettings(settings: RetentionSettings): string {
  return `TTL ${settings.ttlMs / MINUTE_MS} min, cap ${settings.maxActiveSessions} sessions, history ${settings.maxHistoryMessages} messages / ${settings.maxHistoryTokens.toLocaleString('en-US')} tokens, generator idle timeout ${settings.generatorIdleTimeoutMs / MINUTE_MS} min`;
}

/** Bytes as MB (10^6), one decimal. */
export function megabytes(bytes: number): number {
  return Math.round(bytes / 100_000) / 10;
}
