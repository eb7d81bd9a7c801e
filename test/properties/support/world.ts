/**
 * A small world for unit-level properties: one target, its persisted store, a manual agent whose
 * generators do only what a command tells them, and a fake clock. The model-based run and the
 * race property both drive it; neither generates traffic through the simulator.
 *
 * Ground truth comes from outside the target, as in sim/check/invariants.ts: busy-ness from the store
 * (pending messages) and the agent (live generators), timers from the fake clock, listeners from
 * Node's own count. `checkInvariants` throws the first violation as an `InvariantViolation`
 * carrying the invariant's stable name, so a failing property names what broke.
 *
 * When a session went idle is taken from the agent: a session becomes idle only when one of its
 * generators ends (every session is created busy, and pending work drops to zero only through a
 * live generator's ack), so the time of its last generator's end is its idle-since time, exact
 * to the millisecond even when the end happened inside a long clock advance.
 */
import type { Agent, GeneratorContext, QueueResult, RemovalReason, SynchronousTarget, SynchronousTargetFactory } from '../../../src/contract.ts';
import { PendingStore } from '../../../src/pending-store.ts';
import { RetentionModel } from '../../../sim/check/model.ts';
import type { RetentionSettings } from '../../../src/settings.ts';
import { ORIGIN_EPOCH_MS } from '../../../sim/runs/run.ts';
import { installFakeClock as install, type FakeClock } from '../../helpers/fake-clock.ts';
import { ManualAgent, settle } from '../../helpers/manual-agent.ts';

export { ManualAgent, ManualRun, REPLY_CHARS, settle } from '../../helpers/manual-agent.ts';

/**
 * Timers and listeners a target may hold beyond one per session, in unit-level runs. Tighter than
 * the simulator's RESOURCE_SLACK (4), because these runs are short: the reference holds one
 * wake-up timer and one listener in all; the leaky twin one timer and one listener per session. Two leaked handles are then already a failure.
 */
export const MODEL_RESOURCE_SLACK = 1;

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
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
  readonly factory: SynchronousTargetFactory;
  /** Removal reports not yet consumed by the model. */
  readonly removals: Removal[] = [];
  /** Sessions in memory as the target reported them: created minus reported removals. */
  readonly inMemory = new Map<number, { pinned: string }>();
  target!: SynchronousTarget;
  /** Messages the hooks queued (what the accounting must explain). */
  enqueued = 0;
  closed = false;
  #clock: FakeClock;
  #violation: InvariantViolation | undefined;

  /**
   * With `model`: the simulator's executable model (sim/check/model.ts), fed what the commands and
   * the generators do, and compared with the target after every check (matches-model).
   */
  readonly model: RetentionModel | undefined;
  /** Sessions the model must look at again: touched since the last check. */
  readonly #touched = new Set<number>();
  /** Of those, the ones a command touched (a hook, a creation): active at the check, which follows the command at once. */
  readonly #hooked = new Set<number>();
  /** What the target is handed as its agent: the manual agent, seen by the model on the way. */
  readonly #agentSeen: Agent = { run: (context) => this.#run(context) };

  constructor(factory: SynchronousTargetFactory, settings: RetentionSettings, options: { readonly model?: boolean } = {}) {
    this.factory = factory;
    this.settings = settings;
    this.model = options.model ? new RetentionModel(settings, { followsModel: ['sessions', 'expiry', 'history', 'queue', 'generators'] }) : undefined;
    this.model?.workerStarted();
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
    this.model?.workerStarted();
    this.#touched.clear();
    this.#startTarget();
    await settle();
  }

  /**
   * Shuts the target down. When its promise resolves, every generator must have ended (the agent
   * may be told to end a tick after each abort, so that "waited" differs from "aborted") and no
   * message may be left in flight: shutdown-waits, judged at that moment.
   */
  async shutdown(): Promise<void> {
    this.closed = true;
    this.model?.shutdownBegan();
    await this.target.shutdown().then(() => {
      this.model?.shutdownResolved();
      const live = this.agent.live.size;
      const { inFlight } = this.store.accounting();
      if (live > 0) this.#record('shutdown-waits', `shutdown resolved while ${live} generators were still running`);
      else if (inFlight > 0) this.#record('shutdown-waits', `after shutdown, ${inFlight} messages are left in flight`);
    });
    await settle();
  }

  /** Records a session the target says it created (`recovered`: by a starting worker, not a route). */
  created(sessionDbId: number, recovered = false): void {
    if (this.inMemory.has(sessionDbId)) this.#fail('removals-reported', `session ${sessionDbId} was created again without its removal being reported`);
    const pinned = this.store.recordById(sessionDbId)!.userPrompt;
    this.inMemory.set(sessionDbId, { pinned });
    this.model?.created(sessionDbId, pinned, this.nowMs, recovered);
    this.#touched.add(sessionDbId);
    this.#hooked.add(sessionDbId);
  }

  /** A hook for a content session is about to reach the target (a prompt carries its text). */
  hook(contentSessionId: string, promptText?: string): void {
    const sessionDbId = this.store.lookup(contentSessionId)?.sessionDbId;
    if (sessionDbId === undefined || !this.model) return;
    this.model.hookFor(sessionDbId);
    if (promptText !== undefined) this.model.prompted(sessionDbId, promptText);
    this.#touched.add(sessionDbId);
    this.#hooked.add(sessionDbId);
  }

  /** What a queue route answered. */
  queued(result: QueueResult): void {
    if (!result.queued) return;
    this.enqueued += 1;
    this.model?.enqueued(result.sessionDbId, result.message.id);
    this.#touched.add(result.sessionDbId);
    this.#hooked.add(result.sessionDbId);
  }

  refused(): void {
    this.model?.refused();
  }

  deleting(sessionDbId: number): void {
    this.model?.deleting(sessionDbId);
  }

  /** The model against the target, for the sessions touched since the last check. Throws the first divergence as matches-model. */
  #checkModel(): void {
    const model = this.model;
    if (!model) return;
    const nowMs = this.nowMs;
    for (const sessionDbId of this.#hooked) model.settled(sessionDbId, this.busy(sessionDbId), nowMs);
    this.#hooked.clear();
    for (const sessionDbId of this.#touched) {
      model.compare(sessionDbId, this.target.session(sessionDbId), () => this.target.history(sessionDbId));
    }
    this.#touched.clear();
    model.afterEvent(nowMs, this.target.sessionCount(), 0);
    const [divergence] = model.takeDivergences();
    if (divergence) this.#fail('matches-model', divergence.detail);
  }

  /** A generator run, as the model sees it: started, its live claims, appends and acks, its abort and its end. */
  #run(context: GeneratorContext): Promise<void> {
    const model = this.model;
    if (!model) return this.agent.run(context);
    const sessionDbId = context.sessionDbId;
    const signal = context.signal;
    let lastActivityMs = this.nowMs;
    // Generator activity can happen inside a long clock advance: the model takes each at its own time.
    const settledNow = () => {
      model.settled(sessionDbId, this.busy(sessionDbId), this.nowMs);
      this.#touched.add(sessionDbId);
    };
    const active = () => {
      lastActivityMs = this.nowMs;
      model.generatorActivity(sessionDbId, lastActivityMs);
      settledNow();
    };
    const seen: GeneratorContext = {
      sessionDbId,
      signal,
      claim: () => {
        const message = context.claim();
        if (message) model.claimed(sessionDbId, message.id, this.nowMs);
        if (message) active();
        return message;
      },
      append: (message) => {
        const live = !signal.aborted;
        context.append(message);
        if (live) {
          model.appended(sessionDbId, message);
          active();
        }
      },
      ack: (message) => {
        const live = !signal.aborted;
        context.ack(message);
        if (live) {
          model.acknowledged(sessionDbId, message.id);
          active();
        }
      },
    };
    if (signal.aborted) return this.agent.run(seen);
    const onAbort = () => model.aborted(sessionDbId, lastActivityMs, this.nowMs);
    signal.addEventListener('abort', onAbort, { once: true });
    model.runStarted(sessionDbId, this.nowMs, false);
    const ended = (end: 'finished' | 'crashed' | 'aborted') => {
      signal.removeEventListener('abort', onAbort);
      model.runEnded(sessionDbId, end, this.nowMs);
      settledNow();
    };
    const run = this.agent.run(seen);
    settledNow();
    run.then(
      () => ended('finished'),
      () => ended(signal.aborted ? 'aborted' : 'crashed'),
    );
    return run;
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
    this.#checkModel();
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
      agent: this.#agentSeen,
      observer: { onRemoved: (sessionDbId, reason) => this.#removed(sessionDbId, reason) },
    });
    this.target.start();
    // Sessions a fresh target holds were recovered from the store: it created them itself.
    for (let id = 1; id <= this.store.recordCount(); id += 1) if (this.target.session(id)) this.created(id, true);
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
    this.model?.removed(sessionDbId, reason, atMs);
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
