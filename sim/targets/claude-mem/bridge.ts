/**
 * The bridge between leaksim's contract and claude-mem's own SessionManager and session routes.
 *
 * claude-mem is driven the way its hooks drive it: each contract operation calls the route
 * handlers the hooks call over HTTP (registered through claude-mem's own `setupRoutes` on a
 * recording app, called with a request body and a recording response). What the bridge supplies,
 * in the slots claude-mem's worker fills with its own objects:
 *
 *   dbManager        ClaudeMemDatabase (database.ts), mapped onto leaksim's PendingStore
 *   the agents       one object for the Claude, Gemini and OpenRouter slots: its `startSession`
 *                    plays claude-mem's agent (SDKAgent / ClaudeProvider) with leaksim's simulated
 *                    agent, message by message, over claude-mem's own message iterator
 *   broadcaster, worker   no-ops (server-sent events to the web viewer)
 *
 * Two observation points, neither of which changes what claude-mem does: the session manager's
 * `sessions` map is replaced by a Map that reports each removal to leaksim's observer, and (13.x)
 * the in-memory buffer's `enqueue` is wrapped to mirror each accepted message into the store.
 */
import { EventEmitter, getEventListeners } from 'node:events';
import type {
  Agent,
  GeneratorContext,
  InitSessionRequest,
  InitSessionResult,
  ObservationRequest,
  QueueResult,
  RemovalReason,
  SessionObserver,
  SessionTarget,
  SessionView,
  SummarizeRequest,
  TargetStats,
} from '../../../src/contract.ts';
import { estimateTokens, type ConversationMessage } from '../../../src/history.ts';
import type { PendingMessage, PendingStore } from '../../../src/pending-store.ts';
import type { ClaudeMemDatabase } from './database.ts';

/** The parts of claude-mem's ActiveSession the bridge reads and writes. */
export interface ActiveSession {
  readonly sessionDbId: number;
  /** The hook's session id (`claudeSessionId` before 8.x). */
  readonly contentSessionId?: string;
  readonly claudeSessionId?: string;
  userPrompt: string;
  abortController: AbortController;
  generatorPromise: Promise<void> | null;
  /** Absent before 8.x: claude-mem's agent kept no history of its own (the SDK resumed its session). */
  conversationHistory?: { role: 'user' | 'assistant'; content: string }[];
  idleTimedOut?: boolean;
}

/** The hook's session id, under either of the names claude-mem has given it. */
export const contentIdOf = (session: ActiveSession): string => session.contentSessionId ?? session.claudeSessionId ?? '';

/** A session without a history array of its own (before 8.x) is viewed with an empty one. */
const NO_HISTORY: readonly { role: 'user' | 'assistant'; content: string }[] = Object.freeze([]);
const historyOf = (session: ActiveSession): { role: 'user' | 'assistant'; content: string }[] => (session.conversationHistory ?? NO_HISTORY) as { role: 'user' | 'assistant'; content: string }[];

export interface ClaudeMemSessionManager {
  getSession(sessionDbId: number): ActiveSession | undefined;
  getMessageIterator(sessionDbId: number): AsyncIterableIterator<Record<string, unknown>>;
  deleteSession(sessionDbId: number): Promise<void>;
  shutdownAll(): Promise<void>;
  getActiveSessionCount(): number;
}

export interface RouteResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

type Handler = (request: unknown, response: unknown) => unknown;

/**
 * An Express app as far as `setupRoutes` uses one: it records each route's last handler (the
 * handler proper; 13.x puts a body-validation middleware before it, which is not run).
 */
export class RouteTable {
  readonly #handlers = new Map<string, Handler>();

  get app(): Record<'get' | 'post' | 'delete', (path: string, ...handlers: Handler[]) => void> {
    const add = (method: string) => (path: string, ...handlers: Handler[]) => {
      this.#handlers.set(`${method} ${path}`, handlers[handlers.length - 1]!);
    };
    return { get: add('GET'), post: add('POST'), delete: add('DELETE') };
  }

  has(route: string): boolean {
    return this.#handlers.has(route);
  }

  /** Calls a route with a JSON body (and path parameters); settles with the response it sent. */
  call(route: string, body: Record<string, unknown>, params: Record<string, string> = {}): Promise<RouteResponse> {
    const handler = this.#handlers.get(route);
    if (!handler) throw new Error(`claude-mem registered no route ${route}`);
    return new Promise<RouteResponse>((resolve) => {
      let status = 200;
      const response = {
        headersSent: false,
        status(code: number) {
          status = code;
          return response;
        },
        json(sent: Record<string, unknown>) {
          response.headersSent = true;
          resolve({ status, body: sent });
          return response;
        },
      };
      const request = { body, params, query: {}, headers: {}, path: route.split(' ')[1], get: () => undefined };
      handler(request, response);
    });
  }
}

/**
 * Route answers leaksim cannot take for a contract result. A failed route is never a finding about
 * claude-mem (findings are invariant violations): the run ends as an error that says where the
 * route failed, so that a bridge that does not fit a checkout reads as leaksim's error.
 */
export function expectOk(route: string, response: RouteResponse): Record<string, unknown> {
  if (response.status >= 400) throw new Error(`${route} answered ${response.status}: ${JSON.stringify(response.body)}${whereItFailed()}`);
  return response.body;
}

const LAST_LOGGED_ERROR = Symbol.for('leaksim.claude-mem.last-logged-error');

/**
 * Where the error claude-mem last logged was thrown (its handlers log it before answering 500):
 * in leaksim's stand-ins or bridge (leaksim's error: the bridge does not fit this checkout), or in
 * claude-mem's own file and function.
 */
export function whereItFailed(): string {
  const globals = globalThis as Record<symbol, unknown>;
  const error = globals[LAST_LOGGED_ERROR];
  globals[LAST_LOGGED_ERROR] = undefined;
  if (!(error instanceof Error)) return '';
  const frames = (error.stack ?? '').split('\n').slice(1).map((line) => line.trim()).filter((line) => line.startsWith('at ') && !line.includes('node:'));
  const first = frames[0];
  if (!first) return '';
  const place = first.replace(/^at /, '').replace(/file:\/\/\S*?\/(sim|src)\//g, '$1/').replace(/\(?\/\S*?\/(src\/\S+?)\)?$/, '($1)');
  if (/sim\/targets\/claude-mem\/|leaksim-inert:|leaksim-claude-mem-/.test(first)) return `; thrown in leaksim's bridge (${place}): a stand-in does not fit this checkout, leaksim's error`;
  return `; thrown in claude-mem's ${place}`;
}

/**
 * The session manager's `sessions` map, reporting every removal to leaksim's observer before the
 * entry goes (claude-mem removes a session in several places: delete, shutdown, and at 13.x when
 * its generator exits). The reason is the one the bridge set for an operation it started, else
 * what the session says happened (13.x: idle timeout → expired, otherwise its generator failed).
 */
export class ReportingSessions<S extends ActiveSession> extends Map<number, S> {
  readonly reasons = new Map<number, RemovalReason>();
  onRemoved: ((session: S, reason: RemovalReason) => void) | undefined;

  override delete(sessionDbId: number): boolean {
    const session = this.get(sessionDbId);
    if (session) {
      const reason = this.reasons.get(sessionDbId) ?? (session.idleTimedOut ? 'expired' : 'failed');
      this.reasons.delete(sessionDbId);
      this.onRemoved?.(session, reason);
    }
    return super.delete(sessionDbId);
  }
}

/** What the generator bridge needs from the layout. */
export interface GeneratorLayout {
  /** The leaksim message claude-mem's iterator just yielded. */
  messageFor(yielded: Record<string, unknown>, sessionDbId: number): PendingMessage;
  /** The agent processed `message`: acknowledge it to claude-mem's queue and to the store. */
  acknowledge(session: ActiveSession, message: PendingMessage): void;
  /** A run is about to iterate the session's queue. */
  runStarting(session: ActiveSession): void;
  /** A run ended (resolved or rejected), with `unacknowledged` messages it had claimed. */
  runEnded(session: ActiveSession, unacknowledged: number): void;
}

/**
 * Stands in for claude-mem's agent (8.5.x SDKAgent, 13.x ClaudeProvider): `startSession` is what
 * claude-mem calls to run a session's generator. Like claude-mem's, it first appends the prompt
 * the session starts from to `conversationHistory` (the user's prompt as it was sent, standing in
 * for claude-mem's prompt builder), then hands leaksim's agent claude-mem's own message iterator:
 * the agent appends each message's prompt, replies after a simulated latency, appends the reply and
 * acknowledges the message; the run ends when the iterator ends or the session's signal aborts.
 */
export class GeneratorBridge {
  readonly #manager: ClaudeMemSessionManager;
  readonly #agent: Agent;
  readonly #layout: GeneratorLayout;
  readonly #prompts: SentPrompts;
  running = 0;

  constructor(manager: ClaudeMemSessionManager, agent: Agent, layout: GeneratorLayout, prompts: SentPrompts) {
    this.#manager = manager;
    this.#agent = agent;
    this.#layout = layout;
    this.#prompts = prompts;
  }

  startSession(session: ActiveSession): Promise<void> {
    this.running += 1;
    let unacknowledged = 0;
    const layout = this.#layout;
    const sessionDbId = session.sessionDbId;
    layout.runStarting(session);
    session.conversationHistory?.push({ role: 'user', content: this.#prompts.asSent(contentIdOf(session), session.userPrompt) });
    const iterator = this.#manager.getMessageIterator(sessionDbId);
    const messages: AsyncIterable<PendingMessage> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const step = await iterator.next();
          if (step.done) return { done: true, value: undefined };
          unacknowledged += 1;
          return { done: false, value: layout.messageFor(step.value, sessionDbId) };
        },
        return: async () => {
          await iterator.return?.();
          return { done: true, value: undefined };
        },
      }),
    };
    const context: GeneratorContext = {
      sessionDbId,
      signal: session.abortController.signal,
      // claude-mem's generator takes its messages from its own iterator (`messages`): nothing to claim besides.
      claim: () => undefined,
      append: (message: ConversationMessage) => {
        session.conversationHistory?.push({ role: message.role, content: message.content });
      },
      ack: (message: PendingMessage) => {
        unacknowledged -= 1;
        layout.acknowledge(session, message);
      },
      messages,
    };
    return this.#agent.run(context).finally(() => {
      this.running -= 1;
      layout.runEnded(session, unacknowledged);
    });
  }
}

/**
 * The prompts as leaksim sent them, by content session. claude-mem strips tags, trims and drops a
 * leading "/" before it keeps a prompt (new-hook.ts, `stripMemoryTags…`); the prompt builder
 * stand-in puts the prompt back as it was sent, so a history starts with exactly the text the
 * checker knows. (What claude-mem's own builder makes of it is claude-mem's text, not reproduced.)
 */
export class SentPrompts {
  readonly #latest = new Map<string, string>();

  remember(contentSessionId: string, sent: string): void {
    this.#latest.set(contentSessionId, sent);
  }

  asSent(contentSessionId: string, kept: string): string {
    const sent = this.#latest.get(contentSessionId);
    return sent !== undefined && comparable(sent) === comparable(kept) ? sent : kept;
  }

  forget(contentSessionId: string): void {
    this.#latest.delete(contentSessionId);
  }
}

const comparable = (prompt: string): string => prompt.trim().replace(/^\//, '').trim();

/**
 * A counter the bridge bumps each time the checker reads the target (after every event), for the
 * watchdog of an isolated claude-mem run (sim/runs/isolated/claude-mem-child.ts): when it stops
 * moving, claude-mem's code has not returned. Unset outside such a run.
 */
export const bridgeProgress: { counter: Int32Array | undefined } = { counter: undefined };

/** Running size of a history array, updated from where it was last counted (claude-mem only appends). */
interface HistorySize {
  counted: number;
  chars: number;
  tokens: number;
}

/** The contract's views over claude-mem's in-memory sessions, shared by both layouts. */
export abstract class ClaudeMemTarget implements SessionTarget {
  protected readonly manager: ClaudeMemSessionManager;
  protected readonly sessions: ReportingSessions<ActiveSession>;
  protected readonly store: PendingStore;
  protected readonly database: ClaudeMemDatabase;
  protected readonly generators: GeneratorBridge;
  protected readonly prompts: SentPrompts;
  readonly #sizes = new WeakMap<object, HistorySize>();
  /**
   * Sessions claude-mem removed because their generator's idle timeout fired (13.x), counted by the
   * bridge as it reports them: claude-mem keeps no such counter (its SessionManager has only
   * `getActiveSessionCount`). One bridge per worker, so the count starts again with the worker.
   */
  #expirations = 0;

  constructor(manager: ClaudeMemSessionManager, database: ClaudeMemDatabase, agent: Agent, layout: GeneratorLayout, observer: SessionObserver | undefined) {
    this.manager = manager;
    this.database = database;
    this.store = database.store;
    this.prompts = new SentPrompts();
    this.generators = new GeneratorBridge(manager, agent, layout, this.prompts);
    const internals = manager as unknown as { sessions: Map<number, ActiveSession> };
    this.sessions = new ReportingSessions<ActiveSession>();
    for (const [id, session] of internals.sessions) this.sessions.set(id, session);
    internals.sessions = this.sessions;
    this.sessions.onRemoved = (session, reason) => {
      if (reason === 'expired') this.#expirations += 1;
      observer?.onRemoved(session.sessionDbId, reason);
      this.prompts.forget(contentIdOf(session));
      this.released(session.sessionDbId, reason);
    };
  }

  abstract start(): void | Promise<void>;
  abstract initializeSession(request: InitSessionRequest): Promise<InitSessionResult>;
  abstract queueObservation(request: ObservationRequest): Promise<QueueResult>;
  abstract queueSummarize(request: SummarizeRequest): Promise<QueueResult>;
  abstract completeSession(sessionDbId: number): Promise<boolean>;
  /** A session left claude-mem's map: what happens to its queued work in leaksim's store. */
  protected abstract released(sessionDbId: number, reason: RemovalReason): void;
  /**
   * `message` listeners on claude-mem's per-session emitters, wherever its session manager keeps
   * them: a Map of EventEmitters on the manager or one object below it (8.x `sessionQueues`, 13.0
   * `queueEngine.eventsBySession`, 13.4 onward `buffer.events`). Found by shape, not by name.
   */
  protected emitterListeners(): number {
    let listeners = 0;
    for (const emitters of emitterMaps(this.manager)) for (const emitter of emitters.values()) listeners += (emitter as EventEmitter).listenerCount('message');
    return listeners;
  }

  async deleteSession(sessionDbId: number): Promise<boolean> {
    if (!this.sessions.has(sessionDbId)) return false;
    this.sessions.reasons.set(sessionDbId, 'deleted');
    await this.manager.deleteSession(sessionDbId);
    return true;
  }

  async shutdown(): Promise<void> {
    for (const sessionDbId of this.sessions.keys()) this.sessions.reasons.set(sessionDbId, 'shutdown');
    await this.manager.shutdownAll();
  }

  session(sessionDbId: number): SessionView | undefined {
    const session = this.sessions.get(sessionDbId);
    if (!session) return undefined;
    const history = historyOf(session);
    const size = this.#size(history);
    return {
      sessionDbId,
      contentSessionId: contentIdOf(session),
      historyMessages: history.length,
      historyTokens: size.tokens,
      historyChars: size.chars,
      firstMessage: history[0],
      pending: this.store.pendingCount(sessionDbId),
      generatorRunning: session.generatorPromise !== null,
    };
  }

  history(sessionDbId: number): readonly ConversationMessage[] | undefined {
    const session = this.sessions.get(sessionDbId);
    return session ? historyOf(session) : undefined;
  }

  stats(): TargetStats {
    // The checker asks after every event: the watchdog's sign that the simulation is moving.
    if (bridgeProgress.counter) Atomics.add(bridgeProgress.counter, 0, 1);
    let historyMessages = 0;
    let historyChars = 0;
    for (const session of this.sessions.values()) {
      const history = historyOf(session);
      historyMessages += history.length;
      historyChars += this.#size(history).chars;
    }
    return {
      activeSessions: this.sessions.size,
      generatorsRunning: this.generators.running,
      historyMessages,
      historyChars,
      // claude-mem refuses no session and evicts none (no cap at either version) and never trims a history.
      refusedSessions: 0,
      evictions: 0,
      expirations: this.#expirations,
      trimmedMessages: 0,
    };
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  countListeners(): number {
    let listeners = this.emitterListeners();
    for (const session of this.sessions.values()) listeners += getEventListeners(session.abortController.signal, 'abort').length;
    return listeners;
  }

  #size(history: readonly { content: string }[]): HistorySize {
    let size = this.#sizes.get(history);
    if (!size || size.counted > history.length) {
      size = { counted: 0, chars: 0, tokens: 0 };
      this.#sizes.set(history, size);
    }
    for (; size.counted < history.length; size.counted += 1) {
      const content = history[size.counted]!.content;
      size.chars += content.length;
      size.tokens += estimateTokens(content);
    }
    return size;
  }
}

/** Server-sent-event broadcasts to claude-mem's web viewer: nothing listens in a simulation. */
export const SILENT_BROADCASTER: Record<string, () => void> = new Proxy({}, { get: () => () => undefined });

/** The worker object the routes and agents receive: only its status broadcast is called. */
export const SILENT_WORKER = { broadcastProcessingStatus: (): void => undefined };

/** Maps of EventEmitters held by `owner` or by an object it holds (not the sessions map, whose values are sessions). */
function emitterMaps(owner: object): Map<unknown, unknown>[] {
  const found: Map<unknown, unknown>[] = [];
  const isEmitterMap = (value: unknown): value is Map<unknown, unknown> => {
    if (!(value instanceof Map)) return false;
    for (const entry of value.values()) return entry instanceof EventEmitter;
    return false;
  };
  for (const value of Object.values(owner)) {
    if (isEmitterMap(value)) found.push(value);
    else if (value && typeof value === 'object' && !(value instanceof Map) && !Array.isArray(value)) {
      for (const inner of Object.values(value)) if (isEmitterMap(inner)) found.push(inner);
    }
  }
  return found;
}
