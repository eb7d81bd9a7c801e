/**
 * A hand-driven agent for unit-level tests of a target: each generator run does only what the
 * test tells it (send a message, reply, process everything, finish, crash, hang), and ends at
 * once when the target aborts it. Shared by the rule checks (test/src/rules.ts) and the
 * model-based and race properties (test/properties/support/world.ts).
 */
import type { Agent, GeneratorContext } from '../../src/contract.ts';
import type { PendingMessage } from '../../src/pending-store.ts';

/** The reply a manual generator appends for each message it processes. */
export const REPLY_CHARS = 80;



/** Lets promise callbacks (and a target's own nextTick work) run, without moving the clock. */
export async function settle(rounds = 4): Promise<void> {
  for (let round = 0; round < rounds; round += 1) await new Promise<void>((resolve) => process.nextTick(resolve));
}

export type RunState = 'waiting' | 'hung' | 'stopping' | 'ended';

/**
 * When a run ends after its abort signal fires: at once (`sync`, the default), once the current
 * microtasks are done (`tick`), or after this many milliseconds of the fake clock (`{ ms }`, a
 * timer of its own: an SDK call that takes a while to unwind). The asynchronous ones are what make
 * "delete and shutdown wait for the generator" testable: with `sync`, the generator has ended
 * before `abort()` even returns.
 */
export type AbortLag = 'sync' | 'tick' | { readonly ms: number };

/** How an ended run ended: it finished, crashed, or was aborted by the target. */
export type RunOutcome = 'finished' | 'crashed' | 'aborted';

/** One generator run as the agent holds it. `waiting`: alive, doing nothing until told. */
export class ManualRun {
  state: RunState = 'waiting';
  outcome: RunOutcome | undefined;
  /** Set when the worker restarted under it: the process that ran it is gone. */
  dead = false;
  readonly #resolve: () => void;
  readonly #reject: (error: unknown) => void;

  constructor(
    readonly agent: ManualAgent,
    readonly serial: number,
    readonly context: GeneratorContext,
    resolve: () => void,
    reject: (error: unknown) => void,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  get sessionDbId(): number {
    return this.context.sessionDbId;
  }

  get live(): boolean {
    return this.state !== 'ended' && !this.dead;
  }

  /** Claims one message and sends its prompt (it is then in flight). Undefined when the queue is empty. */
  send(): PendingMessage | undefined {
    const message = this.context.claim();
    if (message) this.context.append({ role: 'user', content: message.text });
    return message;
  }

  /** The provider's reply to `message`: appended and acknowledged. */
  reply(message: PendingMessage): void {
    this.context.append({ role: 'assistant', content: `reply to message ${message.id}: `.padEnd(REPLY_CHARS, '.') });
    this.context.ack(message);
    this.agent.acknowledged += 1;
  }

  /** Processes one message. False when there was none. */
  step(): boolean {
    const message = this.send();
    if (!message) return false;
    this.reply(message);
    return true;
  }

  /** Processes everything queued and stays alive; returns how many it processed. */
  drain(): number {
    let processed = 0;
    while (this.live && this.step()) processed += 1;
    return processed;
  }

  /** Processes everything queued, then ends: a generator with nothing left. */
  finish(): void {
    this.drain();
    this.end(undefined, 'finished');
  }

  /** Sends one message, then dies before the reply. */
  crash(): void {
    this.send();
    this.end(new Error(`generator ${this.serial} crashed`), 'crashed');
  }

  /** Sends one message and never hears back: only an abort ends it. */
  hang(): void {
    this.send();
    this.state = 'hung';
  }

  end(error: unknown, outcome: RunOutcome = 'aborted'): void {
    if (!this.live) return;
    this.state = 'ended';
    this.outcome = outcome;
    this.agent.ended(this);
    if (error === undefined) this.#resolve();
    else this.#reject(error);
  }
}

/**
 * The agent the tests play by hand. In `auto` mode (the quiet phase) every waiting run and every
 * new run finishes on its own; hung runs stay hung.
 */
export class ManualAgent implements Agent {
  readonly live = new Set<ManualRun>();
  abortLag: AbortLag = 'sync';
  /** Leaves its abort listener on the signal when a run ends, as SDKs that add one per call do. */
  leavesAbortListener = false;
  readonly #lastEndedAtMs = new Map<number, number>();
  readonly #listeners = new Map<ManualRun, () => void>();
  acknowledged = 0;
  auto = false;
  /** Called for every new run (the race property hands runs to the scheduler here). */
  onStart: ((run: ManualRun) => void) | undefined;
  #serial = 0;

  constructor(readonly nowMs: () => number) {}

  run(context: GeneratorContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (context.signal.aborted) {
        reject(context.signal.reason);
        return;
      }
      const run = new ManualRun(this, ++this.#serial, context, resolve, reject);
      this.live.add(run);
      // A generator must stop at once when aborted.
      const onAbort = () => this.#stop(run, context.signal.reason ?? new Error('aborted'));
      context.signal.addEventListener('abort', onAbort, { once: true });
      // A run that ends on its own lets go of the signal: a target may share it between runs.
      this.#listeners.set(run, () => context.signal.removeEventListener('abort', onAbort));
      if (this.auto) queueMicrotask(() => run.live && run.state === 'waiting' && run.finish());
      this.onStart?.(run);
    });
  }

  #stop(run: ManualRun, reason: unknown): void {
    const lag = this.abortLag;
    if (lag === 'sync') return run.end(reason);
    if (!run.live) return;
    run.state = 'stopping';
    if (lag === 'tick') process.nextTick(() => run.end(reason));
    else setTimeout(() => run.end(reason), lag.ms);
  }

  ended(run: ManualRun): void {
    if (!this.leavesAbortListener) this.#listeners.get(run)?.();
    this.#listeners.delete(run);
    this.live.delete(run);
    this.#lastEndedAtMs.set(run.sessionDbId, this.nowMs());
  }

  runsFor(sessionDbId: number): ManualRun[] {
    return [...this.live].filter((run) => run.sessionDbId === sessionDbId);
  }

  /** The oldest live run of a session that is waiting to be told what to do. */
  waitingRun(sessionDbId: number): ManualRun | undefined {
    return this.runsFor(sessionDbId).find((run) => run.state === 'waiting');
  }

  lastEndedAtMs(sessionDbId: number): number | undefined {
    return this.#lastEndedAtMs.get(sessionDbId);
  }

  /** The worker process died: its generators died with it, without settling. */
  killAll(): void {
    for (const run of this.live) run.dead = true;
    this.#listeners.clear();
    this.live.clear();
  }

  /** Quiet phase: everything not hung finishes, now and from now on. */
  goQuiet(): void {
    this.auto = true;
    for (const run of [...this.live]) if (run.state === 'waiting') run.finish();
  }
}
