/**
 * claude-mem 13.x as a leaksim target: its SessionManager, SessionRoutes, SessionCompletionHandler
 * and ingest helpers (http/shared.ts), wired as `WorkerService` wires them (worker-service.ts,
 * which cannot load under Node: `setIngestContext`, then the routes, then
 * `attachIngestGeneratorStarter`). Hooks call `POST /api/sessions/init`, `.../observations`,
 * `.../summarize`; 13.x has no complete route, so the contract's complete and delete both call
 * `SessionManager.deleteSession`, as `shutdownAll` does for each session.
 *
 * Queue: `SessionMessageBuffer`, in memory by design (lost at a worker restart). Each message it
 * accepts is mirrored into leaksim's store (the buffer's `enqueue` is wrapped to see it); the
 * generator claims it from the buffer and leaksim claims the same message from its store; the
 * agent's acknowledgement confirms it in the buffer (`confirmClaimedMessages`) and the store.
 * A generator ends after 3 idle minutes (the buffer's `IDLE_TIMEOUT_MS`) or when it fails; either
 * way `handleGeneratorExit` finalizes the session and removes it with whatever it still buffered.
 */
import type { InitSessionRequest, InitSessionResult, ObservationRequest, QueueResult, RemovalReason, SummarizeRequest, TargetEnvironment } from '../../../src/contract.ts';
import { ClaudeMemTarget, expectOk, RouteTable, SILENT_BROADCASTER, SILENT_WORKER, type ClaudeMemSessionManager, type GeneratorLayout } from './bridge.ts';
import { ClaudeMemDatabase } from './database.ts';
import type { QueueKind } from './layout.ts';
import { ENTRY_FILES } from './load.ts';
import type { Wiring } from './wiring.ts';
import type { PendingMessage } from '../../../src/pending-store.ts';

type Constructor = new (...args: unknown[]) => unknown;

export interface ClaudeMem13Modules {
  readonly SessionManager: Constructor;
  readonly SessionRoutes: Constructor;
  readonly SessionCompletionHandler: Constructor;
  readonly setIngestContext: (context: unknown) => void;
  readonly attachIngestGeneratorStarter: (starter: (sessionDbId: number, source: string) => Promise<void>) => void;
  readonly wiring: Wiring;
  /** Where the session's queue lives: the in-memory buffer (13.4 onward) or SQLite `pending_messages` (12.x – 13.3). */
  readonly queue: QueueKind;
}

interface Buffer13 {
  enqueue(sessionDbId: number, message: { type: 'observation' | 'summarize'; tool_name?: string }): number;
}

interface Manager13 extends ClaudeMemSessionManager {
  getMessageBuffer(): Buffer13;
  confirmClaimedMessages(sessionDbId: number): Promise<number>;
}

export class ClaudeMem13Target extends ClaudeMemTarget {
  readonly #routes = new RouteTable();
  readonly #manager: Manager13;

  readonly #queueKind: QueueKind;

  constructor(modules: ClaudeMem13Modules, environment: TargetEnvironment) {
    const database = ClaudeMemDatabase.of(environment.store);
    const manager = modules.wiring.construct<Manager13>(modules.SessionManager, ENTRY_FILES.sessionManager!, 'SessionManager', { database });
    const removals: { reasons?: ReadonlyMap<number, RemovalReason> } = {};
    const layout = modules.queue === 'buffer' ? layoutBuffer(database, manager) : layoutSqlite(database);
    super(manager, database, environment.agent, layout, environment.observer);
    removals.reasons = this.sessions.reasons;
    this.#manager = manager;
    this.#queueKind = modules.queue;
    if (modules.queue === 'buffer') {
      const buffer = manager.getMessageBuffer();
      const enqueue = buffer.enqueue.bind(buffer);
      buffer.enqueue = (sessionDbId, message) => {
        const id = enqueue(sessionDbId, message);
        if (id !== 0) database.mirror(sessionDbId, message.type, message.tool_name);
        return id;
      };
    } else {
      // SQLite: a queue cleared while the bridge removes the session (delete, shutdown) is dropped by
      // the delete; cleared when the generator exits on its own, it is work lost with the session.
      database.explicitRemoval = (sessionDbId) => {
        const reason = removals.reasons?.get(sessionDbId);
        return reason === 'deleted' || reason === 'shutdown';
      };
    }
    const objects = { sessionManager: manager, database, broadcaster: SILENT_BROADCASTER, worker: SILENT_WORKER, agent: this.generators };
    const completion = modules.wiring.construct(modules.SessionCompletionHandler, ENTRY_FILES.completion!, 'SessionCompletionHandler', objects);
    modules.setIngestContext({ sessionManager: manager, dbManager: database, eventBroadcaster: SILENT_BROADCASTER });
    const routes = modules.wiring.construct<{
      setupRoutes(app: unknown): void;
      ensureGeneratorRunning(sessionDbId: number, source: string): Promise<void>;
    }>(modules.SessionRoutes, ENTRY_FILES.sessionRoutes!, 'SessionRoutes', { ...objects, completion });
    modules.attachIngestGeneratorStarter((sessionDbId, source) => routes.ensureGeneratorRunning(sessionDbId, source));
    routes.setupRoutes(this.#routes.app);
  }

  /** 13.x has no start-up sweep: the buffer of a dead worker is gone, and nothing is resumed. */
  start(): void {}

  async initializeSession(request: InitSessionRequest): Promise<InitSessionResult> {
    this.prompts.remember(request.contentSessionId, request.userPrompt);
    const record = this.store.lookup(request.contentSessionId);
    const existed = record !== undefined && this.sessions.has(record.sessionDbId);
    const init = expectOk('POST /api/sessions/init', await this.#routes.call('POST /api/sessions/init', { contentSessionId: request.contentSessionId, project: request.project, prompt: request.userPrompt }));
    const sessionDbId = init.sessionDbId as number;
    return { sessionDbId, promptNumber: init.promptNumber as number, created: !existed && this.sessions.has(sessionDbId) };
  }

  queueObservation(request: ObservationRequest): Promise<QueueResult> {
    return this.#queue(request.contentSessionId, request.text, 'POST /api/sessions/observations', {
      contentSessionId: request.contentSessionId,
      tool_name: request.toolName,
      tool_input: {},
      tool_response: {},
      // No cwd: with one, ingestObservation resolves the project with git (a process per tool use).
      cwd: '',
    });
  }

  queueSummarize(request: SummarizeRequest): Promise<QueueResult> {
    return this.#queue(request.contentSessionId, request.text, 'POST /api/sessions/summarize', { contentSessionId: request.contentSessionId, last_assistant_message: '' });
  }

  completeSession(sessionDbId: number): Promise<boolean> {
    return this.deleteSession(sessionDbId);
  }

  /**
   * The buffer goes with the session (`buffer.dispose`): an explicit delete or shutdown may drop it;
   * an expiry or failure loses it. SQLite rows stay unless claude-mem clears them (`clearPendingForSession`).
   */
  protected released(sessionDbId: number, reason: RemovalReason): void {
    if (this.#queueKind === 'buffer') this.store.dropSession(sessionDbId, reason === 'deleted' || reason === 'shutdown');
  }

  async #queue(contentSessionId: string, text: string, route: string, body: Record<string, unknown>): Promise<QueueResult> {
    const record = this.store.lookup(contentSessionId);
    const existed = record !== undefined && this.sessions.has(record.sessionDbId);
    // The buffer accepts the message before the handler's first `await`, so inside withText.
    const answered = this.database.withText(text, () => this.#routes.call(route, body));
    const enqueued = this.database.lastEnqueued;
    const response = expectOk(route, await answered);
    if (response.status === 'skipped') return { queued: false, reason: response.reason === 'private' ? 'private' : 'skipped' };
    if (!enqueued) throw new Error(`claude-mem ${route} answered ${JSON.stringify(response)} without queueing a message`);
    return { queued: true, sessionDbId: enqueued.sessionDbId, message: enqueued, created: !existed };
  }
}

function layoutBuffer(database: ClaudeMemDatabase, manager: Manager13): GeneratorLayout {
  const store = database.store;
  return {
    // The buffer yields in the order it accepted, as leaksim's store claims.
    messageFor: (_yielded, sessionDbId) => {
      const message = store.claim(sessionDbId);
      if (!message) throw new Error(`leaksim bridge: claude-mem yielded a message for session ${sessionDbId} that leaksim's store does not hold`);
      return message;
    },
    acknowledge: (session, message) => {
      void manager.confirmClaimedMessages(session.sessionDbId);
      store.ack(message);
    },
    // getMessageIterator re-yields what an earlier run claimed and did not confirm (resetProcessingToPending).
    runStarting: (session) => {
      store.requeueInFlight(session.sessionDbId);
    },
    runEnded: () => undefined,
  };
}

/**
 * 12.x – 13.3: SQLite rows claimed as 'processing' (`claimNextMessage`, a claim in leaksim's store),
 * put back by claude-mem's own `resetProcessingToPending` when a generator restarts, removed by
 * `clearPendingForSession`. The iterator yields the row's message, which carries leaksim's.
 */
function layoutSqlite(database: ClaudeMemDatabase): GeneratorLayout {
  const store = database.store;
  return {
    messageFor: (yielded) => (yielded as { leaksim: PendingMessage }).leaksim,
    acknowledge: (_session, message) => {
      store.ack(message);
    },
    runStarting: () => undefined,
    // A row the run claimed and did not process stays 'processing' in SQLite: in flight.
    runEnded: () => undefined,
  };
}
