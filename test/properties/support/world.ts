/**
 * A small world for unit-level properties: one target, its persisted store, a manual agent whose
 * generators do only what a command tells them, and a fake clock. The model-based run and the
 * race property both drive it; neither generates traffic through the simulator.
 *
 * Ground truth comes from outside the target, as in sim/invariants.ts: busy-ness from the store
 * (pending messages) and the agent (live generators), timers from the fake clock, listeners from
 * Node's own count. `checkInvariants` throws the first violation as an `InvariantViolation`
 * carrying the invariant's stable name, so a failing property names what broke.
 *
 * When a session went idle is taken from the agent: a session becomes idle only when one of its
 * generators ends (every session is created busy, and pending work drops to zero only through a
 * live generator's ack), so the time of its last generator's end is its idle-since time, exact
 * to the millisecond even when the end happened inside a long clock advance.
 */
import * as FakeTimers from '@sinonjs/fake-timers';
import type { Agent, GeneratorContext, RemovalReason, SessionTarget, TargetFactory } from '../../../src/contract.ts';
import { PendingStore, type PendingMessage } from '../../../src/pending-store.ts';
import type { RetentionSettings } from '../../../src/settings.ts';
import { ORIGIN_EPOCH_MS } from '../../../sim/run.ts';

/**
 * Timers and listeners a target may hold beyond one per session, in unit-level runs. Tighter than
 * the simulator's RESOURCE_SLACK (4), because these runs are short: the reference holds one
 * wake-up timer in all and one listener per session; the leaky twin one timer and one listener per
 * session. Two leaked handles are then already a failure.
 */
export const MODEL_RESOURCE_SLACK = 1;

/** The reply a manual generator appends for each message it processes. */
export const REPLY_CHARS = 80;

type InstalledClock = ReturnType<ReturnType<typeof FakeTimers.withGlobal>['install']>;

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance'] as const;

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

/** Lets promise callbacks (and a target's own nextTick work) run, without moving the clock. */
export async function settle(rounds = 4): Promise<void> {
  for (let round = 0; round < rounds; round += 1) await new Promise<void>((resolve) => process.nextTick(resolve));
}

export type RunState = 'waiting' | 'hung' | 'ended';

/** One generator run as the agent holds it. `waiting`: alive, doing nothing until told. */
export class ManualRun {
  state: RunState = 'waiting';
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

  /** Processes everything queued, then ends: a generator with nothing left. */
  finish(): void {
    while (this.live && this.step());
    this.end(undefined);
  }

  /** Sends one message, then dies before the reply. */
  crash(): void {
    this.send();
    this.end(new Error(`generator ${this.serial} crashed`));
  }

  /** Sends one message and never hears back: only an abort ends it. */
  hang(): void {
    this.send();
    this.state = 'hung';
  }

  end(error: unknown): void {
    if (!this.live) return;
    this.state = 'ended';
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
  readonly #lastEndedAtMs = new Map<number, number>();
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
      context.signal.addEventListener('abort', () => run.end(context.signal.reason ?? new Error('aborted')), { once: true });
      if (this.auto) queueMicrotask(() => run.live && run.state === 'waiting' && run.finish());
      this.onStart?.(run);
    });
  }

  ended(run: ManualRun): void {
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
    this.live.clear();
  }

  /** Quiet phase: everything not hung finishes, now and from now on. */
  goQuiet(): void {
    this.auto = true;
    for (const run of [...this.live]) if (run.state === 'waiting') run.finish();
  }
}

export interface Removal {
  readonly sessionDbId: number;
  readonly reason: RemovalReason;
  readonly atMs: number;
}

/** The "real" side of a model run: a target under a fake clock, checked from outside. */
export class World {
  readonly store = new PendingStore();
  readonly agent: ManualAgent;
  readonly settings: RetentionSettings;
  readonly factory: TargetFactory;
  /** Removal reports not yet consumed by the model. */
  readonly removals: Removal[] = [];
  /** Sessions in memory as the target reported them: created minus reported removals. */
  readonly inMemory = new Map<number, { pinned: string }>();
  target!: SessionTarget;
  /** Messages the hooks queued (what the accounting must explain). */
  enqueued = 0;
  closed = false;
  #clock: InstalledClock;
  #violation: InvariantViolation | undefined;

  constructor(factory: TargetFactory, settings: RetentionSettings) {
    this.factory = factory;
    this.settings = settings;
    this.#clock = install(ORIGIN_EPOCH_MS);
    this.agent = new ManualAgent(() => this.nowMs);
    try {
      this.#startTarget();
    } catch (error) {
      this.#clock.uninstall(); // a second install on the same globals would throw
      throw error;
    }
  }

  get nowMs(): number {
    return this.#clock.now - ORIGIN_EPOCH_MS;
  }

  timerCount(): number {
    return this.#clock.countTimers();
  }

  dispose(): void {
    this.agent.killAll();
    this.#clock.uninstall();
  }

  /** Moves virtual time forward, firing the target's timers in order and settling promises between them. */
  async advance(ms: number): Promise<void> {
    await this.#clock.tickAsync(ms);
    await settle();
  }

  /** The worker process dies and comes back: memory, timers and generators gone; the store kept. */
  async restart(): Promise<void> {
    this.agent.killAll();
    const nowEpochMs = this.#clock.now;
    this.#clock.uninstall();
    this.#clock = install(nowEpochMs);
    this.inMemory.clear();
    this.closed = false;
    this.#startTarget();
    await settle();
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    await this.target.shutdown();
    await settle();
  }

  /** Records a session the target says it created. */
  created(sessionDbId: number): void {
    if (this.inMemory.has(sessionDbId)) this.#fail('removals-reported', `session ${sessionDbId} was created again without its removal being reported`);
    this.inMemory.set(sessionDbId, { pinned: this.store.recordById(sessionDbId)!.userPrompt });
  }

  busy(sessionDbId: number): boolean {
    return this.agent.runsFor(sessionDbId).length > 0 || this.store.pendingCount(sessionDbId) > 0;
  }

  /** When an idle session became idle (its last generator's end); undefined when busy. */
  idleSinceMs(sessionDbId: number): number | undefined {
    if (this.busy(sessionDbId)) return undefined;
    return this.agent.lastEndedAtMs(sessionDbId) ?? this.nowMs;
  }

  /** Every invariant that can be judged at this moment. Throws the first one violated. */
  checkInvariants(): void {
    if (this.#violation) throw this.#violation;
    const target = this.target;
    const { maxActiveSessions, maxHistoryMessages, maxHistoryTokens, ttlMs } = this.settings;
    const count = target.sessionCount();
    if (count > maxActiveSessions) this.#fail('sessions-within-cap', `${count} sessions in memory, cap ${maxActiveSessions}`);
    if (count !== this.inMemory.size) this.#fail('removals-reported', `target holds ${count} sessions, but ${this.inMemory.size} were created and not reported removed`);
    for (const [sessionDbId, { pinned }] of this.inMemory) {
      const view = target.session(sessionDbId);
      if (!view) this.#fail('removals-reported', `session ${sessionDbId} left memory without its removal being reported`);
      if (view.historyMessages > maxHistoryMessages || view.historyTokens > maxHistoryTokens) {
        this.#fail('history-within-bound', `session ${sessionDbId} holds ${view.historyMessages} messages / ${view.historyTokens} tokens (bounds ${maxHistoryMessages} / ${maxHistoryTokens})`);
      }
      const first = view.firstMessage;
      if (!first || first.role !== 'user' || (first.content !== pinned && !(first.content.length > 0 && pinned.startsWith(first.content)))) {
        this.#fail('init-prompt-kept', `session ${sessionDbId} no longer starts with its init prompt`);
      }
      const runs = this.agent.runsFor(sessionDbId).length;
      if (runs > 1) this.#fail('one-generator-per-session', `${runs} generators running for session ${sessionDbId}`);
      const idleSinceMs = this.idleSinceMs(sessionDbId);
      if (!this.closed && idleSinceMs !== undefined && this.nowMs >= idleSinceMs + ttlMs) {
        this.#fail('idle-expired-in-time', `session ${sessionDbId} still in memory ${this.nowMs - idleSinceMs - ttlMs} ms after its TTL of ${ttlMs} ms ran out`);
      }
    }
    const account = this.store.accounting();
    if (this.store.unaccounted() !== 0 || account.droppedByEviction !== 0 || account.enqueued !== this.enqueued || account.processed !== this.agent.acknowledged) {
      this.#fail(
        'no-lost-message',
        `${this.enqueued} queued by hooks; store: ${account.enqueued} enqueued = ${account.processed} processed + ${account.queued} queued + ${account.inFlight} in flight + ${account.droppedByDelete} dropped by delete; ${account.lost} lost, ${account.droppedByEviction} dropped with a busy session`,
      );
    }
    const timers = this.timerCount();
    const listeners = target.countListeners();
    if (timers > count + MODEL_RESOURCE_SLACK) this.#fail('timers-bounded', `${timers} timers held with ${count} sessions (bound ${count + MODEL_RESOURCE_SLACK})`);
    if (listeners > count + MODEL_RESOURCE_SLACK) this.#fail('listeners-bounded', `${listeners} listeners held with ${count} sessions (bound ${count + MODEL_RESOURCE_SLACK})`);
  }

  /** After shutdown: nothing may be left. */
  checkShutdown(): void {
    const left = [this.target.sessionCount() && `${this.target.sessionCount()} sessions`, this.timerCount() && `${this.timerCount()} timers`, this.target.countListeners() && `${this.target.countListeners()} listeners`].filter(Boolean);
    if (left.length) this.#fail('clean-shutdown', `after shutdown, still held: ${left.join(', ')}`);
  }

  /** After the quiet phase: nothing may be left, pending work included. */
  checkDrained(): void {
    const { queued, inFlight } = this.store.accounting();
    const left = [
      this.target.sessionCount() && `${this.target.sessionCount()} sessions`,
      this.timerCount() && `${this.timerCount()} timers`,
      this.target.countListeners() && `${this.target.countListeners()} listeners`,
      queued + inFlight && `${queued + inFlight} pending messages`,
    ].filter(Boolean);
    if (left.length) this.#fail('drains-when-quiet', `after work stopped and the TTL passed, still held: ${left.join(', ')}`);
  }

  /** How long the quiet phase lasts: long enough for a hung generator's abort, its restart and the TTL. */
  quietMs(): number {
    const { ttlMs, generatorIdleTimeoutMs, generatorRestartDelayMs } = this.settings;
    return 2 * (ttlMs + generatorIdleTimeoutMs + generatorRestartDelayMs) + 1_000;
  }

  #startTarget(): void {
    this.target = this.factory({
      settings: this.settings,
      store: this.store,
      agent: this.agent,
      observer: { onRemoved: (sessionDbId, reason) => this.#removed(sessionDbId, reason) },
    });
    this.target.start();
    // Sessions a fresh target holds were recovered from the store: it created them itself.
    for (let id = 1; id <= this.store.recordCount(); id += 1) if (this.target.session(id)) this.created(id);
  }

  /** The observer: called before the target releases the session's work. */
  #removed(sessionDbId: number, reason: RemovalReason): void {
    const atMs = this.nowMs;
    if (!this.inMemory.has(sessionDbId)) this.#record('removals-reported', `removal of session ${sessionDbId} (${reason}) reported, but it was not in memory`);
    if (reason === 'expired' || reason === 'evicted') {
      const pending = this.store.pendingCount(sessionDbId);
      const runs = this.agent.runsFor(sessionDbId).length;
      if (pending > 0 || runs > 0) this.#record('no-busy-eviction', `session ${sessionDbId} was ${reason} while busy (${pending} pending, ${runs} generators running)`);
      if (reason === 'expired') {
        const idleSinceMs = this.agent.lastEndedAtMs(sessionDbId) ?? atMs;
        if (atMs - idleSinceMs < this.settings.ttlMs) this.#record('expiry-not-early', `session ${sessionDbId} expired after ${atMs - idleSinceMs} ms idle, before the TTL of ${this.settings.ttlMs} ms`);
      }
    }
    this.inMemory.delete(sessionDbId);
    this.removals.push({ sessionDbId, reason, atMs });
  }

  /** Records a violation seen inside a target's callback (where a throw would hit the target); the next check throws it. */
  #record(invariant: string, detail: string): void {
    this.#violation ??= new InvariantViolation(invariant, `${detail} (at t=${this.nowMs} ms)`);
  }

  #fail(invariant: string, detail: string): never {
    this.#record(invariant, detail);
    throw this.#violation!;
  }
}

function install(nowEpochMs: number): InstalledClock {
  return FakeTimers.withGlobal(globalThis).install({ now: nowEpochMs, toFake: [...FAKED], loopLimit: 10_000 });
}
