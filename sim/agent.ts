/**
 * The simulated agent: what claude-mem's SDK agent does with a session's queue, in virtual time.
 *
 * When the target starts a generator, the agent claims the oldest pending message, appends the
 * prompt it sends to the history, and after a provider latency appends the reply and acknowledges
 * the message; then it claims the next one, and ends when the queue is empty. Latencies come from
 * the driver's event queue, not from fake timers: the target's own timers stay the only ones the
 * clock has to manage.
 *
 * A target whose generator waits for work hands the agent its own iterator of the session's
 * messages (`GeneratorContext.messages`): the agent then processes each message as the iterator
 * yields it, the same way (prompt, reply after a latency, ack), and ends when the iterator ends or
 * the signal aborts. Waiting with nothing to do is not busy: the agent tells the host when it
 * starts and ends processing a message, and the checker takes busy-ness from that.
 *
 * Faults, drawn from the `faults` stream on every message whether enabled or not (so enabling one
 * does not shift anything else): a crash rejects the run before the reply; a hang never replies
 * and ends only when the target aborts it. Every run honours its abort signal at once.
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
  /** Leaves its abort listener on the signal after every run (real SDKs add one per call and do not always remove it). */
  readonly leavesAbortListener?: boolean;
  /**
   * After an abort, keeps running this long before its run settles: a reply due meanwhile still
   * calls `append` and `ack` on its context, which the target must ignore. The run counts as ended
   * for the checker from the abort on (the target asked it to stop).
   */
  readonly runsAfterAbortMs?: number;
  /** Keeps a run's context after the run ends, and calls its `claim()` when the session's next run starts: the target must hand it nothing. */
  readonly keepsContext?: boolean;
}

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
  /** `waits`: the run waits for work on the target's iterator (busy only while processing). */
  runStarted(sessionDbId: number, waits: boolean, signal: AbortSignal): void;
  runEnded(sessionDbId: number, waits: boolean): void;
  /** A waiting run took a message from the target's iterator and works on it until `processingEnded`. */
  processingStarted(sessionDbId: number): void;
  processingEnded(sessionDbId: number): void;
  /** The context of a run that had ended (kept by a misbehaving agent) still handed out a message. */
  staleClaim(sessionDbId: number): void;
  activity(sessionDbId: number): void;
  acknowledged(): void;
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

  /** With `keepsContext`: the last ended run's context of each session, until that session's next run (one per session). */
  readonly #keptContexts = new Map<number, GeneratorContext>();

  /** A run ended: a misbehaving agent keeps its context. */
  ended(context: GeneratorContext): void {
    if (this.faults.keepsContext) this.#keptContexts.set(context.sessionDbId, context);
  }

  /** A run begins: a misbehaving agent first tries the session's previous context, which must hand out nothing. */
  beginning(context: GeneratorContext): void {
    if (!this.faults.keepsContext) return;
    const stale = this.#keptContexts.get(context.sessionDbId);
    if (!stale) return;
    this.#keptContexts.delete(context.sessionDbId);
    if (stale !== context && stale.claim() !== undefined) this.host.staleClaim(context.sessionDbId);
  }

  /** Schedules the end of a run that lingers after its abort (`runsAfterAbortMs`). */
  linger(end: () => void): void {
    this.host.at(this.host.nowMs + this.faults.runsAfterAbortMs!, { fire: end });
  }

  run(context: GeneratorContext): Promise<void> {
    if (context.messages) return new Promise<void>((resolve, reject) => new WaitingRun(this, context, context.messages!, resolve, reject).begin());
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
  /** Aborted, but lingering (`runsAfterAbortMs`): takes no new work and settles when the linger ends. */
  #aborted = false;

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
    this.#agent.beginning(this.#context);
    this.#agent.host.runStarted(this.#context.sessionDbId, false, signal);
    this.#next();
  }

  /** The abort listener. */
  handleEvent(): void {
    const reason = this.#context.signal.reason ?? new Error('aborted');
    if (!this.#agent.faults.runsAfterAbortMs) return this.#end(reason);
    if (this.#ended || this.#aborted) return;
    this.#aborted = true;
    this.#agent.host.runEnded(this.#context.sessionDbId, false);
    this.#agent.linger(() => this.#end(reason));
  }

  /** The reply is due. */
  fire(): void {
    if (this.#ended) return;
    if (this.#crashes) return this.#end(new GeneratorCrash(this.#context.sessionDbId));
    const agent = this.#agent;
    const context = this.#context;
    context.append({ role: 'assistant', content: agent.content.text(this.#replyChars) });
    context.ack(this.#message!);
    // A lingering run's ack is one the target must ignore: it is not counted as acknowledged.
    if (this.#aborted) return;
    agent.host.acknowledged();
    agent.host.activity(context.sessionDbId);
    this.#next();
  }

  #next(): void {
    if (this.#ended || this.#aborted) return;
    const agent = this.#agent;
    const context = this.#context;
    const message = context.claim();
    if (!message) return this.#end(undefined);
    this.#message = message;
    agent.host.activity(context.sessionDbId);
    context.append({ role: 'user', content: message.text });
    const latencyMs = Math.round(50 + agent.rng.exponential(agent.model.replyLatencyMs));
    this.#replyChars = agent.rng.around(agent.model.replyChars, 1);
    this.#crashes = agent.faultRng.chance(agent.faults.crashProbability);
    const hangs = agent.faultRng.chance(agent.faults.hangProbability);
    if (!hangs) agent.host.at(agent.host.nowMs + latencyMs, this);
  }

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#agent.faults.leavesAbortListener) this.#context.signal.removeEventListener('abort', this);
    if (!this.#aborted) this.#agent.host.runEnded(this.#context.sessionDbId, false);
    this.#agent.ended(this.#context);
    if (error === undefined) this.#resolve();
    else this.#reject(error);
  }
}

/**
 * One run of a generator that waits for work: it pulls the next message from the target's
 * iterator, processes it like `AgentRun` does (the same draws from the same streams, in the same
 * order), and pulls again. Between messages it waits on the iterator's promise; the driver settles
 * promise work after every event while such a run is waiting, so a message queued by a hook is
 * taken up before the checker looks.
 */
class WaitingRun implements Deferred {
  readonly #agent: SimulatedAgent;
  readonly #context: GeneratorContext;
  readonly #iterator: AsyncIterator<PendingMessage>;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;
  #message: PendingMessage | undefined;
  #replyChars = 0;
  #crashes = false;
  #ended = false;
  /** Aborted, but lingering (`runsAfterAbortMs`): pulls no new work and settles when the linger ends. */
  #aborted = false;
  /** Between taking a message and acknowledging it (the host was told processingStarted). */
  #processing = false;

  constructor(agent: SimulatedAgent, context: GeneratorContext, messages: AsyncIterable<PendingMessage>, resolve: () => void, reject: (error: unknown) => void) {
    this.#agent = agent;
    this.#context = context;
    this.#iterator = messages[Symbol.asyncIterator]();
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
    this.#agent.beginning(this.#context);
    this.#agent.host.runStarted(this.#context.sessionDbId, true, signal);
    this.#pull();
  }

  /** The abort listener. */
  handleEvent(): void {
    const reason = this.#context.signal.reason ?? new Error('aborted');
    if (!this.#agent.faults.runsAfterAbortMs) return this.#end(reason);
    if (this.#ended || this.#aborted) return;
    this.#aborted = true;
    this.#reportEnded();
    this.#agent.linger(() => this.#end(reason));
  }

  /** The reply to the message being processed is due. */
  fire(): void {
    if (this.#ended) return;
    if (this.#crashes) return this.#end(new GeneratorCrash(this.#context.sessionDbId));
    const agent = this.#agent;
    const context = this.#context;
    context.append({ role: 'assistant', content: agent.content.text(this.#replyChars) });
    context.ack(this.#message!);
    this.#message = undefined;
    if (this.#aborted) return; // lingering: the target must ignore that ack, and no more work is pulled
    this.#processing = false;
    agent.host.acknowledged();
    agent.host.activity(context.sessionDbId);
    agent.host.processingEnded(context.sessionDbId);
    this.#pull();
  }

  #pull(): void {
    let next: Promise<IteratorResult<PendingMessage>>;
    try {
      next = this.#iterator.next();
    } catch (error) {
      return this.#end(error);
    }
    next.then(
      (result) => this.#took(result),
      (error: unknown) => this.#end(error),
    );
  }

  #took(result: IteratorResult<PendingMessage>): void {
    if (this.#ended || this.#aborted) return;
    if (result.done) return this.#end(undefined);
    const agent = this.#agent;
    const context = this.#context;
    const message = result.value;
    this.#message = message;
    this.#processing = true;
    agent.host.processingStarted(context.sessionDbId);
    agent.host.activity(context.sessionDbId);
    context.append({ role: 'user', content: message.text });
    const latencyMs = Math.round(50 + agent.rng.exponential(agent.model.replyLatencyMs));
    this.#replyChars = agent.rng.around(agent.model.replyChars, 1);
    this.#crashes = agent.faultRng.chance(agent.faults.crashProbability);
    const hangs = agent.faultRng.chance(agent.faults.hangProbability);
    if (!hangs) agent.host.at(agent.host.nowMs + latencyMs, this);
  }

  /** Tells the host the run is over: at its end, or at its abort when it lingers. */
  #reportEnded(): void {
    const host = this.#agent.host;
    if (this.#processing) {
      this.#processing = false;
      host.processingEnded(this.#context.sessionDbId);
    }
    host.runEnded(this.#context.sessionDbId, true);
  }

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#agent.faults.leavesAbortListener) this.#context.signal.removeEventListener('abort', this);
    if (!this.#aborted) this.#reportEnded();
    this.#agent.ended(this.#context);
    // Leaving a `for await` loop early tells the iterator so (its `return`), as a real agent does.
    if (error !== undefined) this.#iterator.return?.().then(undefined, () => undefined);
    if (error === undefined) this.#resolve();
    else this.#reject(error);
  }
}
