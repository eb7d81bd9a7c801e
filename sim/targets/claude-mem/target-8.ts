/**
 * claude-mem 8.5.x as a leaksim target: its SessionManager and SessionRoutes, driven as its hooks
 * drive them (new-hook.ts: `POST /api/sessions/init`, then `POST /sessions/:id/init`; save-hook:
 * `POST /api/sessions/observations`; summary-hook: `POST /api/sessions/summarize`; the complete
 * route `POST /sessions/:id/complete`).
 *
 * Queue: SQLite `pending_messages`, claimed-and-deleted (`PendingMessageStore.claimAndDelete`):
 * a claimed message is in leaksim's store as in flight until the agent acknowledges it; a
 * generator that ends before that, or a worker restart, loses it, as the deleted row is.
 *
 * Worker start: claude-mem's `WorkerService.processPendingQueues` (worker-service.ts, which cannot
 * load under Node: an HTTP server, the MCP SDK) re-creates up to 10 sessions with pending rows,
 * starting each one's generator 100 ms after the previous; `start` does the same, and its promise
 * settles when the last one has started.
 */
import type { InitSessionRequest, InitSessionResult, ObservationRequest, QueueResult, RemovalReason, SummarizeRequest, TargetEnvironment } from '../../../src/contract.ts';
import type { PendingMessage } from '../../../src/pending-store.ts';
import { ClaudeMemTarget, expectOk, RouteTable, SILENT_BROADCASTER, SILENT_WORKER, type ActiveSession, type ClaudeMemSessionManager, type GeneratorLayout } from './bridge.ts';
import { ClaudeMemDatabase } from './database.ts';
import type { QueueKind } from './layout.ts';
import { ENTRY_FILES } from './load.ts';
import type { Wiring } from './wiring.ts';

/** `WorkerService.processPendingQueues(sessionLimit = 10)` and its pause between sessions. */
export const STARTUP_SESSION_LIMIT = 10;
export const STARTUP_PAUSE_MS = 100;

type Constructor = new (...args: unknown[]) => unknown;

export interface ClaudeMem8Modules {
  readonly SessionManager: Constructor;
  readonly SessionRoutes: Constructor;
  readonly wiring: Wiring;
  /** SQLite `pending_messages` (8.x – 11.x), or before 8.x an array on each in-memory session. */
  readonly queue: QueueKind;
  /** claude-mem's `stripMemoryTagsFromPrompt` (utils/tag-stripping.ts): what a 7.x hook did itself before calling the worker. */
  readonly stripMemoryTagsFromPrompt?: (prompt: string) => string;
  /** Before 8.x the save hook skipped these tools before calling the worker (src/hooks/save-hook.ts SKIP_TOOLS). */
  readonly hookSkippedTools?: readonly string[];
}

interface Manager8 extends ClaudeMemSessionManager {
  initializeSession(sessionDbId: number, currentUserPrompt?: string, promptNumber?: number): ActiveSession;
}

export class ClaudeMem8Target extends ClaudeMemTarget {
  readonly #routes = new RouteTable();
  readonly #manager: Manager8;
  readonly #queueKind: QueueKind;
  readonly #stripPrompt: ((prompt: string) => string) | undefined;
  readonly #hookSkippedTools: ReadonlySet<string>;

  constructor(modules: ClaudeMem8Modules, environment: TargetEnvironment) {
    const database = ClaudeMemDatabase.of(environment.store);
    const manager = modules.wiring.construct<Manager8>(modules.SessionManager, ENTRY_FILES.sessionManager!, 'SessionManager', { database });
    const removals: { reasons?: ReadonlyMap<number, RemovalReason> } = {};
    const removing = (sessionDbId: number) => removals.reasons?.get(sessionDbId);
    super(manager, database, environment.agent, modules.queue === 'array' ? layoutArray(database, removing) : layout8(database, removing), environment.observer);
    removals.reasons = this.sessions.reasons;
    this.#manager = manager;
    this.#queueKind = modules.queue;
    this.#stripPrompt = modules.stripMemoryTagsFromPrompt;
    this.#hookSkippedTools = new Set(modules.hookSkippedTools ?? []);
    if (modules.queue === 'array') mirrorArrayQueue(manager as unknown as ArrayQueueManager, database);
    const routes = modules.wiring.construct<{ setupRoutes(app: unknown): void }>(modules.SessionRoutes, ENTRY_FILES.sessionRoutes!, 'SessionRoutes', {
      sessionManager: manager,
      database,
      agent: this.generators,
      broadcaster: SILENT_BROADCASTER,
      worker: SILENT_WORKER,
    });
    routes.setupRoutes(this.#routes.app);
  }

  async start(): Promise<void> {
    // Before 8.x the queue lived in the worker's memory: a new worker has nothing to resume.
    if (this.#queueKind === 'array') return;
    // Claimed rows were deleted from SQLite when they were claimed: a dead worker's claims are gone.
    this.store.forgetAllInFlight();
    let started = 0;
    for (const sessionDbId of this.database.getSessionsWithPendingMessages()) {
      if (started >= STARTUP_SESSION_LIMIT) break;
      if (this.#manager.getSession(sessionDbId)?.generatorPromise) continue;
      const session = this.#manager.initializeSession(sessionDbId);
      // WorkerService.startSessionProcessor: no restart on failure, unlike the routes.
      session.generatorPromise = this.generators
        .startSession(session)
        .catch(() => undefined)
        .finally(() => {
          session.generatorPromise = null;
        });
      started += 1;
      await new Promise((resolve) => setTimeout(resolve, STARTUP_PAUSE_MS));
    }
  }

  async initializeSession(request: InitSessionRequest): Promise<InitSessionResult> {
    this.prompts.remember(request.contentSessionId, request.userPrompt);
    const { sessionDbId, promptNumber, skipped } = this.#routes.has('POST /api/sessions/init') ? await this.#initRoute(request) : this.#initAsHook(request);
    if (skipped) return { sessionDbId, promptNumber, created: false };
    const existed = this.sessions.has(sessionDbId);
    // new-hook.ts sends the prompt without a leading "/" to the second route.
    const userPrompt = request.userPrompt.startsWith('/') ? request.userPrompt.slice(1) : request.userPrompt;
    expectOk('POST /sessions/:sessionDbId/init', await this.#routes.call('POST /sessions/:sessionDbId/init', { project: request.project, userPrompt, promptNumber }, { sessionDbId: String(sessionDbId) }));
    return { sessionDbId, promptNumber, created: !existed };
  }

  /** 8.x onward: the hook asks the worker (`POST /api/sessions/init`) to record the prompt. */
  async #initRoute(request: InitSessionRequest): Promise<{ sessionDbId: number; promptNumber: number; skipped: boolean }> {
    const init = expectOk('POST /api/sessions/init', await this.#routes.call('POST /api/sessions/init', { contentSessionId: request.contentSessionId, project: request.project, prompt: request.userPrompt }));
    return { sessionDbId: init.sessionDbId as number, promptNumber: init.promptNumber as number, skipped: Boolean(init.skipped) };
  }

  /**
   * Before 8.x no route recorded the prompt: new-hook.ts wrote the rows itself (createSDKSession,
   * incrementPromptCounter, and saveUserPrompt unless the prompt is entirely private, with
   * claude-mem's own stripMemoryTagsFromPrompt), then called the per-session init route.
   */
  #initAsHook(request: InitSessionRequest): { sessionDbId: number; promptNumber: number; skipped: boolean } {
    const sessionDbId = this.database.createSDKSession(request.contentSessionId, request.project, request.userPrompt);
    const promptNumber = this.database.incrementPromptCounter(sessionDbId);
    const cleaned = this.#stripPrompt ? this.#stripPrompt(request.userPrompt) : request.userPrompt;
    if (!cleaned || cleaned.trim() === '') return { sessionDbId, promptNumber, skipped: true };
    this.database.saveUserPrompt(request.contentSessionId, promptNumber, cleaned);
    return { sessionDbId, promptNumber, skipped: false };
  }

  queueObservation(request: ObservationRequest): Promise<QueueResult> {
    if (this.#hookSkippedTools.has(request.toolName)) return Promise.resolve({ queued: false, reason: 'skipped' });
    return this.#queue(request.contentSessionId, request.text, 'POST /api/sessions/observations', {
      // The hook's session id under both names claude-mem has read it by (claudeSessionId before 8.x).
      contentSessionId: request.contentSessionId,
      claudeSessionId: request.contentSessionId,
      tool_name: request.toolName,
      tool_input: {},
      tool_response: {},
      cwd: '/leaksim/project',
    });
  }

  queueSummarize(request: SummarizeRequest): Promise<QueueResult> {
    return this.#queue(request.contentSessionId, request.text, 'POST /api/sessions/summarize', { contentSessionId: request.contentSessionId, claudeSessionId: request.contentSessionId, last_assistant_message: '' });
  }

  async completeSession(sessionDbId: number): Promise<boolean> {
    if (!this.sessions.has(sessionDbId)) return false;
    this.sessions.reasons.set(sessionDbId, 'deleted');
    expectOk('POST /sessions/:sessionDbId/complete', await this.#routes.call('POST /sessions/:sessionDbId/complete', {}, { sessionDbId: String(sessionDbId) }));
    return true;
  }

  /**
   * 8.x leaves a deleted session's pending rows in SQLite: they wait for the session to come back.
   * Before 8.x the queue is the session's own array: it goes with the session.
   */
  protected released(sessionDbId: number, reason: RemovalReason): void {
    if (this.#queueKind === 'array') this.store.dropSession(sessionDbId, reason === 'deleted' || reason === 'shutdown');
  }

  async #queue(contentSessionId: string, text: string, route: string, body: Record<string, unknown>): Promise<QueueResult> {
    const record = this.store.lookup(contentSessionId);
    const existed = record !== undefined && this.sessions.has(record.sessionDbId);
    const answered = this.database.withText(text, () => this.#routes.call(route, body));
    const enqueued = this.database.lastEnqueued;
    const response = expectOk(route, await answered);
    if (response.status === 'skipped') return { queued: false, reason: response.reason === 'private' ? 'private' : 'skipped' };
    if (!enqueued) throw new Error(`claude-mem ${route} answered ${JSON.stringify(response)} without queueing a message`);
    return { queued: true, sessionDbId: enqueued.sessionDbId, message: enqueued, created: !existed };
  }
}

/** `removing`: why the bridge is removing a session right now (an explicit delete or a shutdown), if it is. */
function layout8(database: ClaudeMemDatabase, removing: (sessionDbId: number) => RemovalReason | undefined): GeneratorLayout {
  const store = database.store;
  return {
    messageFor: (yielded) => (yielded as { leaksim: PendingMessage }).leaksim,
    acknowledge: (_session, message) => {
      store.ack(message);
    },
    runStarting: () => undefined,
    // What the run had claimed and not processed was deleted from the queue when claimed: dropped
    // when the delete route aborted the run, lost when the run crashed or the worker shut down.
    runEnded: (session, unacknowledged) => {
      if (unacknowledged === 0) return;
      if (removing(session.sessionDbId) === 'deleted') store.dropInFlight(session.sessionDbId);
      else store.forgetInFlight(session.sessionDbId);
    },
  };
}


interface ArrayQueueManager {
  queueObservation(sessionDbId: number, data: { tool_name?: string }): void;
  queueSummarize(sessionDbId: number, ...rest: unknown[]): void;
}

/**
 * Before 8.x: `queueObservation` / `queueSummarize` push onto the session's `pendingMessages`
 * array. Wrapped (an observation point, as the 13.x buffer's `enqueue` is) to mirror each message
 * into leaksim's store; claude-mem's own methods run unchanged.
 */
function mirrorArrayQueue(manager: ArrayQueueManager, database: ClaudeMemDatabase): void {
  const queueObservation = manager.queueObservation.bind(manager);
  const queueSummarize = manager.queueSummarize.bind(manager);
  manager.queueObservation = (sessionDbId, data) => {
    queueObservation(sessionDbId, data);
    database.mirror(sessionDbId, 'observation', data.tool_name);
  };
  manager.queueSummarize = (sessionDbId, ...rest) => {
    queueSummarize(sessionDbId, ...rest);
    database.mirror(sessionDbId, 'summarize', undefined);
  };
}

/**
 * Before 8.x: the iterator shifts messages off the session's array in the order they were pushed,
 * as leaksim's store claims them; one shifted and not processed when its run ends is gone (as with
 * claim-and-delete), dropped if the delete route aborted the run.
 */
function layoutArray(database: ClaudeMemDatabase, removing: (sessionDbId: number) => RemovalReason | undefined): GeneratorLayout {
  const store = database.store;
  return {
    messageFor: (_yielded, sessionDbId) => {
      const message = store.claim(sessionDbId);
      if (!message) throw new Error(`leaksim bridge: claude-mem yielded a message for session ${sessionDbId} that leaksim's store does not hold`);
      return message;
    },
    acknowledge: (_session, message) => {
      store.ack(message);
    },
    runStarting: () => undefined,
    runEnded: (session, unacknowledged) => {
      if (unacknowledged === 0) return;
      if (removing(session.sessionDbId) === 'deleted') store.dropInFlight(session.sessionDbId);
      else store.forgetInFlight(session.sessionDbId);
    },
  };
}
