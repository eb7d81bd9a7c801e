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
 * and ends only when the target aborts it. A run honours its abort signal at once, or, with
 * `abortLagMs`, stops working at once and ends that long after the abort (an SDK call that takes
 * a while to unwind), so that "shutdown waits for every generator" can be told from "shutdown
 * aborted them".
 */
import type { Agent, GeneratorContext } from '../../src/contract.ts';
import type { ConversationMessage } from '../../src/history.ts';
import type { PendingMessage } from '../../src/pending-store.ts';
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
  /** A generator ends this long after its abort signal fires (default 0: at once), doing nothing meanwhile. */
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
  /** `waits`: the run waits for work on the target's iterator (busy only while processing). */
  runStarted(sessionDbId: number, waits: boolean, signal: AbortSignal): void;
  runEnded(sessionDbId: number, waits: boolean, end: RunEnd): void;
  /** The run's abort signal fired; its last activity (start, claim or reply) was at `lastActivityMs`. */
  aborted(sessionDbId: number, lastActivityMs: number): void;
  /** The run claimed `message` and is about to send it. */
  claimed(message: PendingMessage): void;
  /** An aborted run lingers (`runsAfterAbortMs`): counted as ended, but its promise has not settled until `lingering(id, false)`. */
  lingering(sessionDbId: number, started: boolean): void;
  /** A waiting run took a message from the target's iterator and works on it until `processingEnded`. */
  processingStarted(sessionDbId: number): void;
  processingEnded(sessionDbId: number): void;
  /** The context of a run that had ended (kept by a misbehaving agent) still handed out a message. */
  staleClaim(sessionDbId: number): void;
  activity(sessionDbId: number): void;
  acknowledged(message: PendingMessage): void;
  /** The run appended `message` to its context while live (not lingering after an abort): what the target's history must take. */
  appended(sessionDbId: number, message: ConversationMessage): void;
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
  linger(sessionDbId: number, end: () => void): void {
    this.host.lingering(sessionDbId, true);
    this.host.at(this.host.nowMs + this.faults.runsAfterAbortMs!, {
      fire: () => {
        this.host.lingering(sessionDbId, false);
        end();
      },
    });
  }

  run(context: GeneratorContext): Promise<void> {
    if (context.messages) return new Promise<void>((resolve, reject) => new WaitingRun(this, context, context.messages!, resolve, reject).begin());
    return new Promise<void>((resolve, reject) => new AgentRun(this, context, resolve, reject).begin());
  }
}

/**
 * One generator run. A class rather than closures: the driver schedules the run object itself
 * for the reply, and the run is its own abort listener (`handleEvent`), so a message costs no
 * allocation beyond the message texts. What both shapes share lives here: starting, the abort
 * (at once, with a lag, or lingering), processing a message (the same draws from the same streams,
 * in the same order) and ending; each shape says how it gets its next message and what it tells
 * the host.
 */
abstract class Run implements Deferred {
  protected readonly agent: SimulatedAgent;
  protected readonly context: GeneratorContext;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;
  protected message: PendingMessage | undefined;
  #replyChars = 0;
  protected crashes = false;
  protected ended = false;
  /** Aborted, but lingering (`runsAfterAbortMs`): takes no new work and settles when the linger ends. */
  protected aborted = false;
  /** Aborted with a lag (`abortLagMs`): doing nothing more, ending when the lag has passed. */
  protected stopping = false;
  protected lastActivityMs = 0;

  constructor(agent: SimulatedAgent, context: GeneratorContext, resolve: () => void, reject: (error: unknown) => void) {
    this.agent = agent;
    this.context = context;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Whether this run waits for work (the target's iterator) rather than claiming until the queue is empty. */
  protected abstract readonly waits: boolean;
  /** Takes up the next message, or ends the run when there is none. */
  protected abstract next(): void;
  /** Tells the host the run is over: at its end, or at its abort when it lingers. */
  protected abstract reportEnded(end: RunEnd): void;
  /** The host was told of a claim; before anything else is (WaitingRun marks processing here). */
  protected claimedHook(): void {}
  /** The run ended early (an error): a waiting run tells its iterator so. */
  protected endedEarly(): void {}

  begin(): void {
    const signal = this.context.signal;
    if (signal.aborted) {
      this.ended = true;
      this.#reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', this);
    this.agent.beginning(this.context);
    this.lastActivityMs = this.agent.host.nowMs;
    this.agent.host.runStarted(this.context.sessionDbId, this.waits, signal);
    this.next();
  }

  /** The abort listener. */
  handleEvent(): void {
    if (this.ended || this.aborted || this.stopping) return;
    const host = this.agent.host;
    host.aborted(this.context.sessionDbId, this.lastActivityMs);
    const reason = this.context.signal.reason ?? new Error('aborted');
    if (this.agent.faults.runsAfterAbortMs) {
      this.aborted = true;
      this.reportEnded('aborted');
      return this.agent.linger(this.context.sessionDbId, () => this.end(reason, 'aborted'));
    }
    const lagMs = this.agent.faults.abortLagMs ?? 0;
    if (lagMs <= 0) return this.end(reason, 'aborted');
    this.stopping = true;
    host.at(host.nowMs + lagMs, { fire: () => this.end(reason, 'aborted') });
  }

  /** The reply to the message being processed is due. */
  abstract fire(): void;

  /** Appends the reply and acknowledges the message; false when the run lingers after an abort (the target must ignore that ack). */
  protected reply(message: PendingMessage): boolean {
    const agent = this.agent;
    const context = this.context;
    this.lastActivityMs = agent.host.nowMs;
    const reply: ConversationMessage = { role: 'assistant', content: agent.content.text(this.#replyChars) };
    context.append(reply);
    if (!this.aborted) agent.host.appended(context.sessionDbId, reply);
    context.ack(message);
    return !this.aborted;
  }

  /** Sends a message's prompt and schedules its reply (unless the run hangs on it). */
  protected process(message: PendingMessage): void {
    const agent = this.agent;
    const context = this.context;
    this.message = message;
    this.lastActivityMs = agent.host.nowMs;
    agent.host.claimed(message);
    this.claimedHook();
    agent.host.activity(context.sessionDbId);
    const prompt: ConversationMessage = { role: 'user', content: message.text };
    context.append(prompt);
    agent.host.appended(context.sessionDbId, prompt);
    const latencyMs = Math.round(50 + agent.rng.exponential(agent.model.replyLatencyMs));
    this.#replyChars = agent.rng.around(agent.model.replyChars, 1);
    this.crashes = agent.faultRng.chance(agent.faults.crashProbability);
    const hangs = agent.faultRng.chance(agent.faults.hangProbability);
    if (!hangs) agent.host.at(agent.host.nowMs + latencyMs, this);
  }

  protected end(error: unknown, end: RunEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.agent.faults.leavesAbortListener) this.context.signal.removeEventListener('abort', this);
    if (!this.aborted) this.reportEnded(end);
    this.agent.ended(this.context);
    if (error !== undefined) this.endedEarly();
    if (error === undefined) this.#resolve();
    else this.#reject(error);
  }
}

/** A run that claims until the session's queue is empty, then ends. */
class AgentRun extends Run {
  protected readonly waits = false;

  fire(): void {
    if (this.ended || this.stopping) return;
    if (this.crashes) return this.end(new GeneratorCrash(this.context.sessionDbId), 'crashed');
    const message = this.message!;
    if (!this.reply(message)) return;
    this.agent.host.acknowledged(message);
    this.agent.host.activity(this.context.sessionDbId);
    this.next();
  }

  protected next(): void {
    if (this.ended || this.aborted || this.stopping) return;
    const message = this.context.claim();
    if (!message) return this.end(undefined, 'finished');
    this.process(message);
  }

  protected reportEnded(end: RunEnd): void {
    this.agent.host.runEnded(this.context.sessionDbId, false, end);
  }
}

/**
 * One run of a generator that waits for work: it pulls the next message from the target's
 * iterator, processes it like `AgentRun` does, and pulls again. Between messages it waits on the
 * iterator's promise; the driver settles promise work after every event while such a run is
 * waiting, so a message queued by a hook is taken up before the checker looks.
 */
class WaitingRun extends Run {
  protected readonly waits = true;
  readonly #iterator: AsyncIterator<PendingMessage>;
  /** Between taking a message and acknowledging it (the host was told processingStarted). */
  #processing = false;

  constructor(agent: SimulatedAgent, context: GeneratorContext, messages: AsyncIterable<PendingMessage>, resolve: () => void, reject: (error: unknown) => void) {
    super(agent, context, resolve, reject);
    this.#iterator = messages[Symbol.asyncIterator]();
  }

  fire(): void {
    if (this.ended || this.stopping) return;
    if (this.crashes) return this.end(new GeneratorCrash(this.context.sessionDbId), 'crashed');
    const message = this.message!;
    const counts = this.reply(message);
    this.message = undefined;
    if (!counts) return; // lingering: no more work is pulled
    this.#processing = false;
    const host = this.agent.host;
    host.acknowledged(message);
    host.activity(this.context.sessionDbId);
    host.processingEnded(this.context.sessionDbId);
    this.next();
  }

  protected next(): void {
    let next: Promise<IteratorResult<PendingMessage>>;
    try {
      next = this.#iterator.next();
    } catch (error) {
      return this.end(error, 'crashed');
    }
    next.then(
      (result) => this.#took(result),
      (error: unknown) => this.end(error, 'crashed'),
    );
  }

  #took(result: IteratorResult<PendingMessage>): void {
    if (this.ended || this.aborted || this.stopping) return;
    if (result.done) return this.end(undefined, 'finished');
    this.process(result.value);
  }

  protected override claimedHook(): void {
    this.#processing = true;
    this.agent.host.processingStarted(this.context.sessionDbId);
  }

  protected reportEnded(end: RunEnd): void {
    const host = this.agent.host;
    if (this.#processing) {
      this.#processing = false;
      host.processingEnded(this.context.sessionDbId);
    }
    host.runEnded(this.context.sessionDbId, true, end);
  }

  /** Leaving a `for await` loop early tells the iterator so (its `return`), as a real agent does. */
  protected override endedEarly(): void {
    this.#iterator.return?.().then(undefined, () => undefined);
  }
}
