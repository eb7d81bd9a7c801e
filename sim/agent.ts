/**
 * The simulated agent: what claude-mem's SDK agent does with a session's queue, in virtual time.
 *
 * When the target starts a generator, the agent claims the oldest pending message, appends the
 * prompt it sends to the history, and after a provider latency appends the reply and acknowledges
 * the message; then it claims the next one, and ends when the queue is empty. Latencies come from
 * the driver's event queue, not from fake timers: the target's own timers stay the only ones the
 * clock has to manage.
 *
 * Faults, drawn from the `faults` stream on every message whether enabled or not (so enabling one
 * does not shift anything else): a crash rejects the run before the reply; a hang never replies
 * and ends only when the target aborts it. A run honours its abort signal at once, or, with
 * `abortLagMs`, stops working at once and ends that long after the abort (an SDK call that takes
 * a while to unwind), so that "shutdown waits for every generator" can be told from "shutdown
 * aborted them".
 */
import type { Agent, GeneratorContext } from '../src/contract.ts';
import type { PendingMessage } from '../src/pending-store.ts';
import type { ContentSource } from './content.ts';
import type { Rng } from './rng.ts';

export interface AgentModel {
  /** Mean provider latency per message. */
  readonly replyLatencyMs: number;
  /** Mean reply size. */
  readonly replyChars: number;
}

export interface AgentFaults {
  /** Per message: the generator crashes instead of replying. */
  readonly crashProbability: number;
  /** Per message: the generator hangs and never replies. */
  readonly hangProbability: number;
  /** A generator ends this long after its abort signal fires (default 0: at once). */
  readonly abortLagMs?: number;
}

/** How a run ended, as the agent knows it. */
export type RunEnd = 'finished' | 'crashed' | 'aborted';

export const DEFAULT_AGENT: AgentModel = Object.freeze({ replyLatencyMs: 3_000, replyChars: 1_000 });

/** Something the driver runs later: an agent's pending reply. */
export interface Deferred {
  fire(): void;
}

/** What the agent needs from the driver: the time, a way to act later, and who to tell. */
export interface AgentHost {
  readonly nowMs: number;
  /** Calls `deferred.fire()` at `atMs`, unless the worker restarted in between. */
  at(atMs: number, deferred: Deferred): void;
  runStarted(sessionDbId: number): void;
  runEnded(sessionDbId: number, end: RunEnd): void;
  /** The run's abort signal fired; its last activity (start, claim or reply) was at `lastActivityMs`. */
  aborted(sessionDbId: number, lastActivityMs: number): void;
  /** The run claimed `message` and is about to send it. */
  claimed(message: PendingMessage): void;
  activity(sessionDbId: number): void;
  acknowledged(message: PendingMessage): void;
}

export class GeneratorCrash extends Error {
  constructor(sessionDbId: number) {
    super(`simulated generator crash in session ${sessionDbId}`);
    this.name = 'GeneratorCrash';
  }
}

export class SimulatedAgent implements Agent {
  readonly host: AgentHost;
  readonly model: AgentModel;
  readonly faults: AgentFaults;
  readonly rng: Rng;
  readonly faultRng: Rng;
  readonly content: ContentSource;

  constructor(host: AgentHost, model: AgentModel, faults: AgentFaults, rng: Rng, faultRng: Rng, content: ContentSource) {
    this.host = host;
    this.model = model;
    this.faults = faults;
    this.rng = rng;
    this.faultRng = faultRng;
    this.content = content;
  }

  run(context: GeneratorContext): Promise<void> {
    return new Promise<void>((resolve, reject) => new AgentRun(this, context, resolve, reject).begin());
  }
}

/**
 * One generator run. A class rather than closures: the driver schedules the run object itself
 * for the reply, and the run is its own abort listener (`handleEvent`), so a message costs no
 * allocation beyond the message texts.
 */
class AgentRun implements Deferred {
  readonly #agent: SimulatedAgent;
  readonly #context: GeneratorContext;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;
  #message: PendingMessage | undefined;
  #replyChars = 0;
  #crashes = false;
  #ended = false;
  /** Aborted with a lag: doing nothing more, ending when the lag has passed. */
  #stopping = false;
  #lastActivityMs = 0;

  constructor(agent: SimulatedAgent, context: GeneratorContext, resolve: () => void, reject: (error: unknown) => void) {
    this.#agent = agent;
    this.#context = context;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  begin(): void {
    const signal = this.#context.signal;
    if (signal.aborted) {
      this.#ended = true;
      this.#reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', this);
    this.#lastActivityMs = this.#agent.host.nowMs;
    this.#agent.host.runStarted(this.#context.sessionDbId);
    this.#next();
  }

  /** The abort listener. */
  handleEvent(): void {
    if (this.#ended || this.#stopping) return;
    const host = this.#agent.host;
    host.aborted(this.#context.sessionDbId, this.#lastActivityMs);
    const reason = this.#context.signal.reason ?? new Error('aborted');
    const lagMs = this.#agent.faults.abortLagMs ?? 0;
    if (lagMs <= 0) return this.#end(reason, 'aborted');
    this.#stopping = true;
    host.at(host.nowMs + lagMs, { fire: () => this.#end(reason, 'aborted') });
  }

  /** The reply is due. */
  fire(): void {
    if (this.#ended || this.#stopping) return;
    if (this.#crashes) return this.#end(new GeneratorCrash(this.#context.sessionDbId), 'crashed');
    const agent = this.#agent;
    const context = this.#context;
    this.#lastActivityMs = agent.host.nowMs;
    context.append({ role: 'assistant', content: agent.content.text(this.#replyChars) });
    context.ack(this.#message!);
    agent.host.acknowledged(this.#message!);
    agent.host.activity(context.sessionDbId);
    this.#next();
  }

  #next(): void {
    if (this.#ended) return;
    const agent = this.#agent;
    const context = this.#context;
    const message = context.claim();
    if (!message) return this.#end(undefined, 'finished');
    this.#message = message;
    this.#lastActivityMs = agent.host.nowMs;
    agent.host.claimed(message);
    agent.host.activity(context.sessionDbId);
    context.append({ role: 'user', content: message.text });
    const latencyMs = Math.round(50 + agent.rng.exponential(agent.model.replyLatencyMs));
    this.#replyChars = agent.rng.around(agent.model.replyChars, 1);
    this.#crashes = agent.faultRng.chance(agent.faults.crashProbability);
    const hangs = agent.faultRng.chance(agent.faults.hangProbability);
    if (!hangs) agent.host.at(agent.host.nowMs + latencyMs, this);
  }

  #end(error: unknown, end: RunEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#context.signal.removeEventListener('abort', this);
    this.#agent.host.runEnded(this.#context.sessionDbId, end);
    if (error === undefined) this.#resolve();
    else this.#reject(error);
  }
}
