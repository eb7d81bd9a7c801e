/**
 * The target contract: what a session manager must offer for leaksim to drive and judge it.
 *
 * The operations are the worker's routes (init a session with a prompt, queue an observation,
 * queue a summarize request, delete / complete, shut down) plus `start` for a worker that has
 * just come up. The agent that runs a session's generator is handed in, so the simulator can play
 * it; the target decides when to start, abort, restart and wait for generators.
 *
 * Time is read from the global `Date`, `performance.now()` and timers, which the simulator fakes.
 * To adapt a third-party session manager, write one file that implements `SessionTarget` over it
 * (see README.md, "Adapting a target").
 */
import type { ConversationMessage } from './history.ts';
import type { PendingMessage, PendingStore } from './pending-store.ts';
import type { RetentionSettings } from './settings.ts';

export interface InitSessionRequest {
  readonly contentSessionId: string;
  readonly project: string;
  readonly userPrompt: string;
}

export interface InitSessionResult {
  readonly sessionDbId: number;
  readonly promptNumber: number;
  /** True when this call created the session in memory (first prompt, or re-created after removal). */
  readonly created: boolean;
}

export interface ObservationRequest {
  readonly contentSessionId: string;
  readonly toolName: string;
  /** The observation prompt the agent will send for this tool use. */
  readonly text: string;
}

export interface SummarizeRequest {
  readonly contentSessionId: string;
  readonly text: string;
}

export type QueueResult =
  | { readonly queued: true; readonly sessionDbId: number; readonly message: PendingMessage; readonly created: boolean }
  /** `private`: no prompt was ever recorded for this content session, so claude-mem drops the call. */
  | { readonly queued: false; readonly reason: 'private' };

/** Why a session left memory. Reported to the observer for every removal. */
export type RemovalReason = 'expired' | 'evicted' | 'deleted' | 'shutdown';

/**
 * What the target tells the simulator as it happens. Every removal must be reported, before the
 * target releases the session's pending work and aborts its generator, so the observer can judge
 * whether the session was busy.
 */
export interface SessionObserver {
  onRemoved(sessionDbId: number, reason: RemovalReason): void;
}

/**
 * A running generator as the agent sees it. The agent claims messages, appends what it sends and
 * receives to the session's history, acknowledges processed messages, and ends by settling the
 * promise it returned from `run`: resolved when nothing is left, rejected when it crashes. It
 * must stop promptly once `signal` is aborted.
 */
export interface GeneratorContext {
  readonly sessionDbId: number;
  readonly signal: AbortSignal;
  claim(): PendingMessage | undefined;
  append(message: ConversationMessage): void;
  ack(message: PendingMessage): void;
}

export interface Agent {
  run(context: GeneratorContext): Promise<void>;
}

export interface SessionView {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly historyMessages: number;
  readonly historyTokens: number;
  readonly historyChars: number;
  readonly firstMessage: ConversationMessage | undefined;
  readonly pending: number;
  readonly generatorRunning: boolean;
}

/** Counters and sizes a target reports about itself, in O(1) unless said otherwise. */
export interface TargetStats {
  readonly activeSessions: number;
  readonly generatorsRunning: number;
  readonly historyMessages: number;
  readonly historyChars: number;
  readonly refusedSessions: number;
  readonly evictions: number;
  readonly expirations: number;
  readonly trimmedMessages: number;
}

export interface SessionTarget {
  /** Called once when the worker (re)starts: resume sessions with persisted pending work. */
  start(): void;
  initializeSession(request: InitSessionRequest): InitSessionResult;
  queueObservation(request: ObservationRequest): QueueResult;
  queueSummarize(request: SummarizeRequest): QueueResult;
  /** The delete route: abort the generator, wait for it, release everything. False when absent. */
  deleteSession(sessionDbId: number): Promise<boolean>;
  /** The complete route (a SessionEnd hook in later claude-mem): same effect as delete. */
  completeSession(sessionDbId: number): Promise<boolean>;
  /** Abort every generator, wait for them, release every session, timer and listener. */
  shutdown(): Promise<void>;
  session(sessionDbId: number): SessionView | undefined;
  history(sessionDbId: number): readonly ConversationMessage[] | undefined;
  stats(): TargetStats;
  /** Sessions in memory, in O(1): the checker reads it after every event. */
  sessionCount(): number;
  /** Listeners the target holds on long-lived emitters and signals, counted for real. May be O(sessions): read at samples only. */
  countListeners(): number;
}

export interface TargetEnvironment {
  readonly settings: RetentionSettings;
  readonly store: PendingStore;
  readonly agent: Agent;
  readonly observer?: SessionObserver;
}

/** Builds a target for one worker incarnation. A restart builds a new one over the same store. */
export type TargetFactory = (environment: TargetEnvironment) => SessionTarget;

/**
 * Thrown by `initializeSession` (and by a queue call that must re-create a session) when the cap
 * is reached and every session is busy, so none may be evicted. The route answers 503; nothing
 * was created, and the refusal is counted in `stats().refusedSessions`.
 */
export class SessionLimitError extends Error {
  readonly code = 'LEAKSIM_SESSION_LIMIT';
  readonly maxActiveSessions: number;

  constructor(maxActiveSessions: number) {
    super(`all ${maxActiveSessions} sessions are busy; refusing a new one`);
    this.name = 'SessionLimitError';
    this.maxActiveSessions = maxActiveSessions;
  }
}
