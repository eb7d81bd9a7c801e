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
 * (see docs/targets.md, "Adapting a target").
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
  | { readonly queued: false; readonly reason: 'private' }
  /** `skipped`: the tool is in the target's skip list (claude-mem's `TodoWrite` and the like): neither queued nor private. */
  | { readonly queued: false; readonly reason: 'skipped' };

/**
 * Why a session left memory. Reported to the observer for every removal. `failed`: its generator
 * failed for good and the target gave the session up (not judged as an eviction or an expiry).
 */
export type RemovalReason = 'expired' | 'evicted' | 'deleted' | 'shutdown' | 'failed';

/** A route may answer at once or with a promise; the driver settles either before it judges. */
export type Awaitable<T> = T | PromiseLike<T>;

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
  /**
   * Present when the target's generator waits for work: the target's own iterator of this
   * session's messages (claimed from the store as they are queued). The agent processes each
   * message as it is yielded (append prompt, reply after a latency, append reply, ack) and ends
   * when the iterator ends (the target's idle period passed) or the signal aborts. Absent: the
   * agent claims until the queue is empty.
   */
  readonly messages?: AsyncIterable<PendingMessage>;
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
  start(): Awaitable<void>;
  initializeSession(request: InitSessionRequest): Awaitable<InitSessionResult>;
  queueObservation(request: ObservationRequest): Awaitable<QueueResult>;
  queueSummarize(request: SummarizeRequest): Awaitable<QueueResult>;
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
  /** The settings, as read from `settingsFile` by leaksim's reader when there is one. */
  readonly settings: RetentionSettings;
  /** The claude-mem settings.json the settings came from, for a target that reads the file itself. Absent when the settings were given as values. */
  readonly settingsFile?: { readonly file: string; readonly text: string };
  readonly store: PendingStore;
  readonly agent: Agent;
  readonly observer?: SessionObserver;
}

/** How the heap gate recognises one of the target's objects in a snapshot. */
export type HeapMatcher = { readonly constructorName: string } | { readonly properties: readonly string[] };

/**
 * What a target declares about itself, exported as `description` beside `createTarget` by an
 * adapter module. Every field is optional; an empty description is leaksim's reference semantics.
 * docs/targets.md ("Adapting a target") says what each declaration changes.
 */
export interface TargetDescription {
  /** Which prompt a session's history pins: the latest prompt (leaksim's reference, default) or the first one ever (claude-mem re-creates a session from its first prompt). */
  readonly pinnedPrompt?: 'latest' | 'first';
  /** 'persisted' (default): the queue survives a worker restart. 'memory': messages queued in memory are lost at a restart by design; they are counted as `lostAtRestart` (its own named cost), and no-lost-message judges every other loss. */
  readonly queue?: 'persisted' | 'memory';
  /** Listeners one session may hold (on the signals handed to its generators and the target's own emitters). Default 1. */
  readonly listenersPerSession?: number;
  /** Settings the target fixes itself whatever the settings file says (e.g. { generatorIdleTimeoutMs: 180_000 } or { ttlMs: ... }). The checker judges with these; reports state them as overridden. */
  readonly fixedSettings?: Partial<RetentionSettings>;
  /** Tool names the target skips (informational; the queue result says 'skipped'). */
  readonly skippedTools?: readonly string[];
  /** Invariants that do not apply to this target, each with the reason (shown in reports). */
  readonly invariantsOff?: Readonly<Record<string, string>>;
  /** Whether a session's history may be empty until its generator first runs (default false). */
  readonly historyEmptyUntilGenerator?: boolean;
  /**
   * Which parts of leaksim's executable model of the retention rules (sim/check/model.ts) the
   * target follows, judged after every event by `matches-model`: `true` for all of them, or a
   * list of parts. 'sessions': which sessions are in memory (creation, eviction of the idlest,
   * refusal, delete, resuming after a restart); 'expiry': when an idle session goes; 'history':
   * each history's messages, count, tokens and first message; 'queue': pending messages per
   * session and the order they are handed out; 'generators': one per session, aborted once silent
   * for the idle timeout and not before, restarted after the delay, all ended before shutdown
   * resolves; 'counters': stats()'s expirations, evictions and refusals; 'resources': timers and
   * listeners, at most what the sessions in memory account for. Absent: the model does
   * not judge the target (docs/invariants.md, "The model").
   */
  readonly followsModel?: true | readonly ModelPart[];
  /** How the heap gate finds this target's sessions and history messages in a snapshot. */
  readonly heap?: { readonly session: HeapMatcher; readonly historyMessage: HeapMatcher };
}

/** A part of the executable model a target may declare it follows (`TargetDescription.followsModel`). */
export type ModelPart = 'sessions' | 'expiry' | 'history' | 'queue' | 'generators' | 'counters' | 'resources';

/** Builds a target for one worker incarnation. A restart builds a new one over the same store. */
export type TargetFactory = (environment: TargetEnvironment) => SessionTarget;

/** A target whose routes answer at once, as leaksim's own reference and leaky twin do: what hand-driven tests call directly. */
export interface SynchronousTarget extends SessionTarget {
  start(): void;
  initializeSession(request: InitSessionRequest): InitSessionResult;
  queueObservation(request: ObservationRequest): QueueResult;
  queueSummarize(request: SummarizeRequest): QueueResult;
}

export type SynchronousTargetFactory = (environment: TargetEnvironment) => SynchronousTarget;

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
