/**
 * The driver: replays hook traffic against a target in virtual time and lets the checker judge
 * it after every event. Data flows one way: traffic → driver → target → checker → result.
 *
 * One queue orders everything. Traffic arrives as a time-ordered stream; the agent's replies are
 * scheduled on a small heap; the driver takes whichever is earlier, advances the fake clock to it
 * (firing the target's due timers on the way), dispatches it, lets promise callbacks settle when
 * anything asynchronous happened, and runs the checker. The clock only ever moves as far as the
 * next event, so the target's timers are the only fake timers there are.
 *
 * Faults that happen to the worker arrive as events: a restart replaces the target (memory lost,
 * store kept, timers gone); a sleep freezes the worker, so everything due during it runs at the
 * wake-up, in order, after every due timer has fired.
 */
import TinyQueue from 'tinyqueue';
import { type Awaitable, type GeneratorContext, type InitSessionResult, type QueueResult, type SessionTarget, type TargetDescription, type TargetFactory, SessionLimitError } from '../../src/contract.ts';
import { PendingStore, type PendingMessage } from '../../src/pending-store.ts';
import type { RetentionSettings } from '../../src/settings.ts';
import { SimulatedAgent, type AgentFaults, type AgentHost, type AgentModel, type Deferred } from '../engine/agent.ts';
import { RunawayTimersError, SimClock, settle } from '../engine/clock.ts';
import { ContentSource } from '../engine/content.ts';
import { CostAccount } from '../check/costs.ts';
import type { HookEvent, HookKind } from '../engine/events.ts';
import { Checker, type Violation } from '../check/invariants.ts';
import { formatMs } from '../engine/sim-time.ts';
import { INVARIANT_NAMES, type InvariantName } from '../check/catalogue.ts';
import { Rng } from '../engine/rng.ts';
import { judgedSettings } from '../targets/target-description.ts';
import { errorText } from '../targets/target-guard.ts';
import { WarningCapture, type ProcessWarningSummary } from '../engine/warnings.ts';
import { TraceHash } from '../engine/trace-hash.ts';

export type SessionEndRoute = 'none' | 'complete';

export interface DriverFaults extends AgentFaults {
  /** Per hook event: the same hook fires twice in parallel. */
  readonly duplicateHookProbability: number;
}

export interface Checkpoint {
  readonly everyMs: number;
  /** Called at each checkpoint with the live target and the hook events dispatched so far; the run waits for it. */
  readonly onCheckpoint: (nowMs: number, target: SessionTarget, hookEvents: number) => void | Promise<void>;
}

export interface SimulationInput {
  readonly seed: number;
  /** The settings the run states: what the checker and the model judge with. */
  readonly settings: RetentionSettings;
  /**
   * The settings as the target was handed them, read from `settingsFile` by src/settings.ts
   * (sim/runs/run.ts does that for every scenario). Omitted: `settings`. A slip in the reader
   * makes the two differ, and the judging, which keeps `settings`, sees it.
   */
  readonly targetSettings?: RetentionSettings;
  /** The claude-mem settings.json the target's settings were read from, handed to the target too. */
  readonly settingsFile?: { readonly file: string; readonly text: string };
  readonly target: TargetFactory;
  /** Hook events in time order (ms from the origin). */
  readonly traffic: Iterable<HookEvent>;
  readonly originEpochMs: number;
  readonly agent: AgentModel;
  readonly faults: DriverFaults;
  readonly sessionEndRoute: SessionEndRoute;
  /** `drain`: after traffic, wait out the TTL and check that everything drained, then shut down. `shutdown`: shut down at once, busy. */
  readonly end: 'drain' | 'shutdown';
  readonly sampleEveryMs: number;
  /**
   * Asked after every event once something was violated: true ends the run there (its verdict is
   * settled). Omitted: the run goes to the end, recording every violation.
   */
  readonly stopWhen?: (violated: ReadonlyMap<InvariantName, number>) => boolean;
  readonly flatContent?: boolean;
  readonly checkpoint?: Checkpoint;
  readonly onProgress?: (nowMs: number, hookEvents: number) => void;
  /** Called with the simulated time when the run ends in an exception (a target fault): where the report places it. */
  readonly onStopped?: (nowMs: number) => void;
  /** What the target declares about itself (src/contract.ts); omitted: nothing, leaksim's reference semantics. */
  readonly description?: TargetDescription;
}

export interface MetricSample {
  readonly atMs: number;
  readonly activeSessions: number;
  readonly generatorsRunning: number;
  readonly historyMessages: number;
  readonly historyChars: number;
  readonly pending: number;
  readonly timers: number;
  readonly listeners: number;
  readonly refusedSessions: number;
  readonly evictions: number;
  readonly expirations: number;
  readonly trimmedMessages: number;
  /** Context lost so far (see sim/check/costs.ts). */
  readonly coldResumes: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly traceHash: string;
  readonly passed: boolean;
  readonly violations: readonly Violation[];
  readonly violationCounts: Readonly<Partial<Record<InvariantName, number>>>;
  readonly stoppedEarly: boolean;
  readonly endMs: number;
  readonly hookEvents: Readonly<Record<HookKind, number>>;
  readonly agentEvents: number;
  readonly totals: {
    readonly sessionsCreated: number;
    readonly refusedSessions: number;
    readonly privateDrops: number;
    /** Tool uses the target skipped by its own list (`{ queued: false, reason: 'skipped' }`). */
    readonly skippedTools: number;
    readonly messagesQueued: number;
    readonly messagesProcessed: number;
    readonly evictions: number;
    readonly expirations: number;
    readonly trimmedMessages: number;
    readonly workerRestarts: number;
    /** Messages a target with `queue: 'memory'` lost at worker restarts, by design (0 for a persisted queue). */
    readonly lostAtRestart: number;
    /** Context lost (see sim/check/costs.ts). */
    readonly coldResumes: number;
    readonly droppedHistoryMessages: number;
  };
  readonly peaks: {
    readonly activeSessions: number;
    readonly historyMessages: number;
    readonly historyChars: number;
    readonly timers: number;
    readonly listeners: number;
    /** The most abort listeners found on one session's latest generator signal at a sample. */
    readonly generatorSignalListeners: number;
  };
  readonly samples: readonly MetricSample[];
  /** Node process warnings raised during the run, by kind (captured, not printed). */
  readonly warnings: readonly ProcessWarningSummary[];
}

interface Scheduled {
  readonly atMs: number;
  readonly seq: number;
  readonly incarnation: number;
  readonly deferred: Deferred;
}

/** How far past the last event the quiet phase may run: the TTL plus these, plus restarts and replies. */
const QUIET_EXTRA_MS = 60 * 60_000;
/** The quiet phase advances at most this far at a time, so samples and due work keep their order. */
const QUIET_STEP_MS = 60_000;
/**
 * How long (virtual time) shutdown may take: its generators may take a while to end after their
 * abort (the agent's abortLagMs), and the clock runs for them; a shutdown still pending after
 * this is reported, never waited on for ever.
 */
export const SHUTDOWN_WAIT_MAX_MS = 10 * 60_000;
/**
 * Generators a target may start between two events. A worker restart recovering every session
 * starts a few hundred; a generator that restarts itself at once, for ever, starts them on
 * microtasks alone, where no timer guard sees it and the run would hang.
 */
export const GENERATOR_STARTS_PER_STEP_MAX = 10_000;

export class RunawayGeneratorsError extends Error {
  constructor(
    readonly atMs: number,
    readonly starts: number,
  ) {
    super(`runaway generators: more than ${starts} generator starts between two events, at t=${atMs} ms`);
    this.name = 'RunawayGeneratorsError';
  }
}

const KIND_CODE: Record<HookKind, number> = { 'session-start': 1, prompt: 2, 'tool-use': 3, stop: 4, 'session-end': 5, 'worker-restart': 6, sleep: 7 };
const OUTCOME = { ok: 1, created: 2, refused: 3, private: 4, agent: 5, skipped: 6 } as const;

export async function simulate(input: SimulationInput): Promise<SimulationResult> {
  const run = new Simulation(input);
  try {
    return await run.execute();
  } catch (error) {
    input.onStopped?.(run.nowMs);
    throw error;
  } finally {
    run.dispose();
  }
}

class Simulation {
  readonly #input: SimulationInput;
  readonly #description: TargetDescription;
  /** The settings the checker judges with: the scenario's, overridden by the target's `fixedSettings`. */
  readonly #judged: RetentionSettings;
  /** `pinnedPrompt: 'first'`: a session's history must keep the first prompt ever recorded for it, not the latest. */
  readonly #pinsFirst: boolean;
  readonly #clock: SimClock;
  readonly #store = new PendingStore();
  readonly #checker: Checker;
  readonly #costs = new CostAccount();
  readonly #trace = new TraceHash();
  readonly #agenda = new TinyQueue<Scheduled>([], (a, b) => a.atMs - b.atMs || a.seq - b.seq);
  readonly #content: ContentSource;
  readonly #agent: SimulatedAgent;
  readonly #duplicateRng: Rng;
  readonly #samples: MetricSample[] = [];
  readonly #hookEvents: Record<HookKind, number> = { 'session-start': 0, prompt: 0, 'tool-use': 0, stop: 0, 'session-end': 0, 'worker-restart': 0, sleep: 0 };
  #target!: SessionTarget;
  #seq = 0;
  #incarnation = 0;
  #frozenUntilMs = 0;
  #nextSampleMs: number;
  #nextCheckpointMs: number;
  #needsSettle = false;
  #generatorStartsThisStep = 0;
  #runaway: RunawayGeneratorsError | undefined;
  /** What the target is handed as its agent: the simulated agent, behind the runaway guard. */
  readonly #agentGate = { run: (context: GeneratorContext) => this.#startRun(context) };
  #agentEvents = 0;
  #hookTotal = 0;
  #sessionsCreated = 0;
  #refused = 0;
  #privateDrops = 0;
  #skippedTools = 0;
  /**
   * The signal of each session's latest generator run, for the per-session listener count: listeners
   * an agent leaves behind pile up on a signal the target reuses, and go with one it replaces.
   */
  readonly #runSignals = new Map<number, AbortSignal>();
  readonly #warnings = new WarningCapture();
  /** Live runs that wait for work on the target's iterator (GeneratorContext.messages). */
  #waitingRuns = 0;
  #lostAtRestart = 0;
  /** A route's promise rejected with something other than a session limit: thrown after the settle. */
  #routeError: unknown = undefined;
  #queued = 0;
  #restarts = 0;
  #evictionsBefore = 0;
  #expirationsBefore = 0;
  #trimmedBefore = 0;
  #peaks = { activeSessions: 0, historyMessages: 0, historyChars: 0, timers: 0, listeners: 0, generatorSignalListeners: 0 };

  constructor(input: SimulationInput) {
    this.#input = input;
    this.#description = input.description ?? {};
    this.#judged = judgedSettings(input.settings, this.#description);
    this.#pinsFirst = this.#description.pinnedPrompt === 'first';
    this.#checker = new Checker(this.#judged, this.#store, this.#description);
    this.#content = new ContentSource({ flat: input.flatContent ?? false });
    this.#duplicateRng = Rng.stream(input.seed, 'faults.duplicates');
    this.#nextSampleMs = input.sampleEveryMs;
    this.#nextCheckpointMs = input.checkpoint?.everyMs ?? Infinity;
    const host = this.#agentHost();
    this.#agent = new SimulatedAgent(host, input.agent, input.faults, Rng.stream(input.seed, 'agent'), Rng.stream(input.seed, 'faults.agent'), this.#content);
    this.#clock = SimClock.install(input.originEpochMs);
    this.#warnings.install();
  }

  /** Simulated time reached so far. */
  get nowMs(): number {
    return this.#clock.nowMs;
  }

  dispose(): void {
    this.#warnings.uninstall();
    this.#clock.uninstall();
  }

  async execute(): Promise<SimulationResult> {
    this.#startTarget();
    // An async start finishes before the first event (a synchronous one leaves nothing to settle).
    await this.#settleIfNeeded();
    let stoppedEarly = false;
    let lastEventMs = 0;
    {
      const traffic = this.#input.traffic[Symbol.iterator]();
      let upcoming = traffic.next();
      for (;;) {
        const agendaHead = this.#agenda.peek();
        const hook = upcoming.done ? undefined : upcoming.value;
        if (!hook && !agendaHead) break;
        if (agendaHead && agendaHead.incarnation !== this.#incarnation) {
          this.#agenda.pop(); // the worker restarted: that generator died with it
          continue;
        }
        const hookFirst = hook !== undefined && (!agendaHead || hook.atMs < agendaHead.atMs);
        const atMs = Math.max(hookFirst ? hook.atMs : agendaHead!.atMs, this.#frozenUntilMs);
        // Awaited for every event, a timer due or not: the await is a turn of the microtask queue in
        // which promise work a target started runs before the next event (a generator a hook started
        // takes up its work). Skipping it when no timer is due changed what samples see.
        if (await this.#fireTimerDueBy(atMs)) {
          if (this.#settled()) {
            stoppedEarly = true;
            break;
          }
          continue;
        }
        this.#beginStep();
        // Taken off the agenda before the clock moves: work settled at a sample on the way may schedule more.
        if (!hookFirst) this.#agenda.pop();
        if (this.#stopDue(atMs)) await this.#advanceTo(atMs);
        else this.#clock.advanceTo(atMs);
        if (hookFirst) {
          if (hook.kind === 'worker-restart') {
            // The old worker's promise work finishes before it dies, never after the new one starts.
            this.#needsSettle = true;
            await this.#settleIfNeeded();
          }
          this.#dispatch(hook, atMs);
          if (this.#input.faults.duplicateHookProbability > 0 && this.#duplicateRng.chance(this.#input.faults.duplicateHookProbability) && hook.kind !== 'worker-restart' && hook.kind !== 'sleep') {
            this.#dispatch(hook, atMs);
          }
          // A hook may hand work to a generator waiting on the target's iterator: let it take it up.
          if (this.#waitingRuns > 0) this.#needsSettle = true;
          lastEventMs = atMs;
          upcoming = traffic.next();
        } else {
          this.#agentEvents += 1;
          agendaHead!.deferred.fire();
        }
        // Inline rather than `await this.#afterEvent()`: most events start nothing asynchronous,
        // and an await per event is a measurable share of the run.
        if (this.#needsSettle) await this.#settleIfNeeded();
        this.#checker.afterEvent(this.#clock.nowMs);
        if (this.#settled()) {
          stoppedEarly = true;
          break;
        }
      }
      if (!stoppedEarly) stoppedEarly = !(await this.#finish(lastEventMs));
    }
    // A last sample, so that metrics and peaks include how the run ended (early or not).
    if (this.#samples.at(-1)?.atMs !== this.#clock.nowMs) this.#sample();
    return this.#result(stoppedEarly);
  }

  #settled(): boolean {
    return this.#checker.failed && this.#input.stopWhen !== undefined && this.#input.stopWhen(this.#checker.violationCounts());
  }

  /**
   * A target timer due by `limitMs` (no earlier than a frozen worker wakes) is an event of its
   * own: the clock stops there, and what the timer started (a restarted generator and the reply
   * it waits for, an abort and its promise callbacks) settles and is checked before the clock
   * moves on. Advancing straight past it would schedule that reply behind the clock, and a
   * watchdog due later in the same advance would find the generator silent. Returns whether a
   * timer fired.
   */
  async #fireTimerDueBy(limitMs: number): Promise<boolean> {
    const timerMs = Math.max(this.#clock.nextTimerMs(), this.#frozenUntilMs);
    if (timerMs > limitMs) return false;
    if (this.#stopDue(timerMs)) await this.#advanceTo(timerMs);
    else this.#clock.advanceTo(timerMs);
    this.#needsSettle = true;
    await this.#settleIfNeeded();
    this.#checker.afterEvent(this.#clock.nowMs);
    return true;
  }

  /** Whether a sample or checkpoint falls due by `atMs`. */
  #stopDue(atMs: number): boolean {
    return this.#nextSampleMs <= atMs || this.#nextCheckpointMs <= atMs;
  }

  /** Advances the clock to `atMs`, taking the samples and checkpoints due on the way. */
  async #advanceTo(atMs: number): Promise<void> {
    while (Math.min(this.#nextSampleMs, this.#nextCheckpointMs) <= atMs) {
      const stopMs = Math.min(this.#nextSampleMs, this.#nextCheckpointMs);
      // A target timer fired on the way may start promise work (an async iterator ending): settle it before the sample looks.
      if (this.#clock.nextTimerMs() <= stopMs) this.#needsSettle = true;
      this.#clock.advanceTo(stopMs);
      await this.#settleIfNeeded();
      if (stopMs === this.#nextSampleMs) {
        this.#sample();
        this.#nextSampleMs += this.#input.sampleEveryMs;
      }
      if (stopMs === this.#nextCheckpointMs) {
        await this.#input.checkpoint!.onCheckpoint(stopMs, this.#target, this.#hookTotal);
        this.#nextCheckpointMs += this.#input.checkpoint!.everyMs;
      }
    }
    this.#clock.advanceTo(atMs);
  }

  #dispatch(event: HookEvent, atMs: number): void {
    this.#hookTotal += 1;
    this.#hookEvents[event.kind] += 1;
    const trace = this.#trace;
    trace.mix(KIND_CODE[event.kind]);
    trace.mixTime(atMs);
    if ((this.#hookTotal & 0xffff) === 0) this.#input.onProgress?.(atMs, this.#hookTotal);
    const target = this.#target;
    switch (event.kind) {
      case 'session-start':
        trace.mixString(event.session);
        return;
      case 'prompt': {
        trace.mixString(event.session);
        this.#checker.hookFor(this.#store.lookup(event.session)?.sessionDbId);
        const text = event.text ?? this.#content.text(event.promptChars);
        // Before the route: a session in memory takes the prompt before anything its generator appends.
        const known = this.#store.lookup(event.session)?.sessionDbId;
        if (known !== undefined) this.#checker.prompted(known, text);
        let result: Awaitable<InitSessionResult>;
        try {
          result = target.initializeSession({ contentSessionId: event.session, project: event.project, userPrompt: text });
        } catch (error) {
          this.#refuse(error);
          return;
        }
        if (isPromiseLike(result)) this.#awaitRoute(result, (settled) => this.#initialized(settled, text, this.#clock.nowMs));
        else this.#initialized(result, text, atMs);
        return;
      }
      case 'tool-use':
      case 'stop': {
        trace.mixString(event.session);
        this.#checker.hookFor(this.#store.lookup(event.session)?.sessionDbId);
        let result: Awaitable<QueueResult>;
        try {
          result =
            event.kind === 'tool-use'
              ? target.queueObservation({ contentSessionId: event.session, toolName: event.toolName, text: event.text ?? this.#content.text(OBSERVATION_TEMPLATE_CHARS + event.inputChars + event.responseChars) })
              : target.queueSummarize({ contentSessionId: event.session, text: event.text ?? this.#content.text(SUMMARY_TEMPLATE_CHARS + event.messageChars) });
        } catch (error) {
          this.#refuse(error);
          return;
        }
        if (isPromiseLike(result)) this.#awaitRoute(result, (settled) => this.#queuedResult(settled, this.#clock.nowMs));
        else this.#queuedResult(result, atMs);
        return;
      }
      case 'session-end': {
        trace.mixString(event.session);
        if (this.#input.sessionEndRoute !== 'complete') return;
        const record = this.#store.lookup(event.session);
        if (!record) return;
        this.#needsSettle = true;
        this.#checker.deleting(record.sessionDbId);
        void target.completeSession(record.sessionDbId);
        return;
      }
      case 'worker-restart':
        this.#restarts += 1;
        this.#incarnation += 1;
        // A queue kept in memory by design dies with the process; a persisted one is recovered by the new worker.
        if (this.#description.queue === 'memory') this.#lostAtRestart += this.#store.dropAllAtRestart();
        this.#runSignals.clear();
        this.#clock.restartProcess();
        this.#startTarget();
        return;
      case 'sleep':
        trace.mixTime(event.durationMs);
        this.#frozenUntilMs = Math.max(this.#frozenUntilMs, atMs + event.durationMs);
        return;
    }
  }

  /** What the init route answered (at once, or when its promise settled). */
  #initialized(result: InitSessionResult, text: string, nowMs: number): void {
    if (result.created) {
      this.#sessionsCreated += 1;
      this.#costs.created(result.sessionDbId);
      this.#checker.created(result.sessionDbId, this.#pinsFirst ? this.#pinnedPrompt(result.sessionDbId) : text, nowMs);
    }
    this.#checker.touch(result.sessionDbId);
    this.#costs.sawHistory(result.sessionDbId, this.#target.session(result.sessionDbId)?.historyMessages);
    this.#trace.mix(result.created ? OUTCOME.created : OUTCOME.ok);
    this.#trace.mix(result.sessionDbId);
  }

  /** What a queue route answered (at once, or when its promise settled). */
  #queuedResult(result: QueueResult, nowMs: number): void {
    if (!result.queued) {
      if (result.reason === 'skipped') {
        this.#skippedTools += 1;
        this.#trace.mix(OUTCOME.skipped);
      } else {
        this.#privateDrops += 1;
        this.#trace.mix(OUTCOME.private);
      }
      return;
    }
    this.#queued += 1;
    this.#checker.enqueued(result.message);
    if (result.created) {
      this.#sessionsCreated += 1;
      this.#costs.created(result.sessionDbId);
      this.#checker.created(result.sessionDbId, this.#pinnedPrompt(result.sessionDbId), nowMs);
    }
    this.#checker.touch(result.sessionDbId);
    this.#trace.mix(result.created ? OUTCOME.created : OUTCOME.ok);
  }

  /**
   * An async route: its answer is handled when its promise settles, which the settle after this
   * event waits for (the promise callback asks for another round). An answer from a worker that
   * has restarted since is dropped with that worker, except for the message it queued: the store
   * holds it, so the accounting must too. While a route is unanswered the checker leaves the
   * message accounting alone (the store may already hold what the driver has not yet counted).
   */
  #awaitRoute<T>(answer: PromiseLike<T>, handle: (result: T) => void): void {
    const incarnation = this.#incarnation;
    this.#needsSettle = true;
    this.#checker.routesUnanswered += 1;
    answer.then(
      (result) => {
        this.#checker.routesUnanswered -= 1;
        this.#needsSettle = true;
        if (incarnation === this.#incarnation) handle(result);
        else if (isQueued(result)) {
          this.#queued += 1;
          this.#checker.enqueued(result.message);
        }
      },
      (error: unknown) => {
        this.#checker.routesUnanswered -= 1;
        this.#needsSettle = true;
        if (incarnation !== this.#incarnation) return;
        if (isSessionLimit(error)) this.#refuse(error);
        else this.#routeError ??= error;
      },
    );
  }

  #refuse(error: unknown): void {
    if (!isSessionLimit(error)) throw error;
    this.#refused += 1;
    this.#checker.refused();
    this.#trace.mix(OUTCOME.refused);
  }

  #startTarget(): void {
    if (this.#target) this.#carryCounters(this.#target);
    this.#target = this.#input.target({
      settings: this.#input.targetSettings ?? this.#input.settings,
      ...(this.#input.settingsFile ? { settingsFile: this.#input.settingsFile } : {}),
      store: this.#store,
      agent: this.#agentGate,
      observer: {
        onRemoved: (sessionDbId, reason) => {
          this.#trace.mix(20 + ['expired', 'evicted', 'deleted', 'shutdown', 'failed'].indexOf(reason));
          this.#trace.mix(sessionDbId);
          this.#checker.removed(sessionDbId, reason, this.#clock.nowMs);
          this.#runSignals.delete(sessionDbId);
          this.#costs.removed(sessionDbId, reason);
        },
      },
    });
    this.#checker.attach(this.#target);
    const started = this.#target.start();
    if (isPromiseLike(started)) this.#awaitRoute(started, () => this.#recovered());
    else this.#recovered();
    this.#needsSettle = true;
  }

  /** Sessions recovered at start-up were created by the target itself. */
  #recovered(): void {
    for (const sessionDbId of this.#recoveredSessions()) {
      this.#sessionsCreated += 1;
      this.#checker.created(sessionDbId, this.#pinnedPrompt(sessionDbId), this.#clock.nowMs, true);
    }
  }

  /** The prompt a session re-created by the target (not by the init route) must start with. */
  #pinnedPrompt(sessionDbId: number): string {
    const record = this.#store.recordById(sessionDbId)!;
    return this.#pinsFirst ? record.firstPrompt : record.userPrompt;
  }

  /** Sessions a freshly started target holds: those it recovered from the store. */
  #recoveredSessions(): number[] {
    const count = this.#target.stats().activeSessions;
    if (count === 0) return [];
    const ids: number[] = [];
    // An async start may still be recovering while routes create sessions: those were announced already.
    for (let id = 1; ids.length < count && id <= this.#store.recordCount(); id += 1) if (this.#target.session(id) && !this.#checker.knows(id)) ids.push(id);
    return ids;
  }

  /** Counters of a target that is about to be replaced, so totals span restarts. */
  #carryCounters(target: SessionTarget): void {
    const stats = target.stats();
    this.#evictionsBefore += stats.evictions;
    this.#expirationsBefore += stats.expirations;
    this.#trimmedBefore += stats.trimmedMessages;
  }

  /** A new traffic or agent event: the runaway generator guard counts starts from here. */
  #beginStep(): void {
    this.#generatorStartsThisStep = 0;
  }

  /** Past the limit a start never settles: that stops a spinning target, and the run reports it. */
  #startRun(context: GeneratorContext): Promise<void> {
    if (this.#runaway === undefined && ++this.#generatorStartsThisStep <= GENERATOR_STARTS_PER_STEP_MAX) return this.#agent.run(context);
    this.#runaway ??= new RunawayGeneratorsError(this.#clock.nowMs, GENERATOR_STARTS_PER_STEP_MAX);
    return new Promise(() => {});
  }

  #agentHost(): AgentHost {
    const simulation = this;
    return {
      get nowMs() {
        return simulation.#clock.nowMs;
      },
      at: (atMs, deferred) => {
        this.#agenda.push({ atMs, seq: this.#seq++, incarnation: this.#incarnation, deferred });
      },
      runStarted: (sessionDbId, waits, signal) => {
        this.#trace.mix(OUTCOME.agent);
        if (waits) this.#waitingRuns += 1;
        this.#runSignals.set(sessionDbId, signal);
        this.#checker.runStarted(sessionDbId, this.#clock.nowMs, waits);
      },
      runEnded: (sessionDbId, waits, end) => {
        this.#needsSettle = true;
        if (waits) this.#waitingRuns -= 1;
        this.#checker.runEnded(sessionDbId, waits, end, this.#clock.nowMs);
        this.#costs.sawHistory(sessionDbId, this.#target.session(sessionDbId)?.historyMessages);
      },
      processingStarted: (sessionDbId) => this.#checker.processingStarted(sessionDbId),
      staleClaim: (sessionDbId) => this.#checker.staleClaim(sessionDbId, this.#clock.nowMs),
      processingEnded: (sessionDbId) => {
        // The run pulls its next message from the target's iterator: a promise to settle.
        this.#needsSettle = true;
        this.#checker.processingEnded(sessionDbId);
      },
      aborted: (sessionDbId, lastActivityMs) => this.#checker.aborted(sessionDbId, lastActivityMs, this.#clock.nowMs),
      claimed: (message) => this.#checker.claimed(message, this.#clock.nowMs),
      lingering: (sessionDbId, started) => {
        // A lingering run that ends settles its promise: the target's reaction to it (claude-mem
        // 13.x removes the session then) must run now, not at the next event that settles.
        if (!started) this.#needsSettle = true;
        this.#checker.lingering(sessionDbId, started, this.#clock.nowMs);
      },
      activity: (sessionDbId) => this.#checker.generatorActivity(sessionDbId, this.#clock.nowMs),
      acknowledged: (message) => this.#checker.acknowledged(message),
      appended: (sessionDbId, message) => this.#checker.appended(sessionDbId, message),
    };
  }

  async #settleIfNeeded(): Promise<void> {
    // Promise callbacks can trigger more (a generator ends, the target starts the next one), so
    // settle until a round leaves nothing new behind.
    for (let round = 0; this.#needsSettle && round < 100; round += 1) {
      this.#needsSettle = false;
      await settle();
    }
    if (this.#routeError !== undefined) throw this.#routeError;
    if (this.#runaway) throw this.#runaway;
  }

  async #afterEvent(): Promise<void> {
    await this.#settleIfNeeded();
    this.#checker.afterEvent(this.#clock.nowMs);
  }

  /** The quiet phase and the end checks. Returns false when it stopped at a violation. */
  async #finish(lastEventMs: number): Promise<boolean> {
    const settings = this.#judged;
    if (this.#input.end === 'drain') {
      const horizonMs = Math.max(lastEventMs, this.#frozenUntilMs) + settings.ttlMs + settings.generatorIdleTimeoutMs + settings.generatorRestartDelayMs + QUIET_EXTRA_MS;
      while (this.#clock.nowMs < horizonMs) {
        const head = this.#agenda.peek();
        if (head && head.incarnation !== this.#incarnation) {
          this.#agenda.pop();
          continue;
        }
        if (!head && this.#clock.timerCount() === 0) break;
        const headMs = head ? Math.max(head.atMs, this.#frozenUntilMs) : Infinity;
        const stepMs = Math.min(headMs, this.#clock.nowMs + QUIET_STEP_MS, horizonMs);
        if (await this.#fireTimerDueBy(stepMs)) {
          if (this.#settled()) return false;
          continue;
        }
        this.#beginStep();
        await this.#advanceTo(stepMs);
        if (head && headMs <= stepMs) {
          this.#agenda.pop();
          this.#agentEvents += 1;
          head.deferred.fire();
        }
        await this.#afterEvent();
        if (this.#settled()) return false;
      }
      this.#checker.checkQuiet(this.#resources(), this.#clock.nowMs);
      if (this.#settled()) return false;
    }
    await this.#shutdown();
    this.#checker.checkShutdown(this.#resources(), this.#clock.nowMs);
    return true;
  }

  /**
   * Shuts the target down and waits for its promise. With generators that end at once on abort
   * (the default) it resolves within the microtask rounds and the clock never moves, as before.
   * Generators that take a while to end (abortLagMs) need time to pass: the clock then runs from
   * one agent event or target timer to the next, up to SHUTDOWN_WAIT_MAX_MS.
   */
  async #shutdown(): Promise<void> {
    const checker = this.#checker;
    let finished = false;
    checker.shutdownBegan();
    Promise.resolve(this.#target.shutdown()).then(
      () => {
        finished = true;
        checker.shutdownResolved(this.#clock.nowMs);
      },
      (error: unknown) => {
        finished = true;
        checker.shutdownUnfinished(this.#clock.nowMs, `shutdown rejected with ${errorText(error)}`);
      },
    );
    this.#needsSettle = true;
    await this.#settleIfNeeded();
    const limitMs = this.#clock.nowMs + SHUTDOWN_WAIT_MAX_MS;
    while (!finished) {
      const head = this.#agenda.peek();
      if (head && head.incarnation !== this.#incarnation) {
        this.#agenda.pop();
        continue;
      }
      const timerMs = this.#clock.nextTimerMs();
      const nextMs = Math.min(head ? head.atMs : Infinity, timerMs);
      if (nextMs > limitMs) break;
      this.#beginStep();
      this.#clock.advanceTo(nextMs);
      if (head && head.atMs <= timerMs) {
        this.#agenda.pop();
        this.#agentEvents += 1;
        head.deferred.fire();
      }
      this.#needsSettle = true;
      await this.#settleIfNeeded();
    }
    if (!finished) checker.shutdownUnfinished(this.#clock.nowMs, `shutdown had not resolved ${formatMs(SHUTDOWN_WAIT_MAX_MS)} after it began`);
  }

  #resources(): { activeSessions: number; timers: number; listeners: number } {
    const stats = this.#target.stats();
    return { activeSessions: stats.activeSessions, timers: this.#clock.timerCount(), listeners: this.#target.countListeners() };
  }

  #sample(): void {
    const stats = this.#target.stats();
    const account = this.#store.accounting();
    const timers = this.#clock.timerCount();
    const listeners = this.#target.countListeners();
    const sample: MetricSample = {
      atMs: this.#clock.nowMs,
      activeSessions: stats.activeSessions,
      generatorsRunning: stats.generatorsRunning,
      historyMessages: stats.historyMessages,
      historyChars: stats.historyChars,
      pending: account.queued + account.inFlight,
      timers,
      listeners,
      refusedSessions: this.#refused,
      evictions: this.#evictionsBefore + stats.evictions,
      expirations: this.#expirationsBefore + stats.expirations,
      trimmedMessages: this.#trimmedBefore + stats.trimmedMessages,
      coldResumes: this.#costs.coldResumes,
    };
    this.#samples.push(sample);
    const peaks = this.#peaks;
    peaks.activeSessions = Math.max(peaks.activeSessions, sample.activeSessions);
    peaks.historyMessages = Math.max(peaks.historyMessages, sample.historyMessages);
    peaks.historyChars = Math.max(peaks.historyChars, sample.historyChars);
    peaks.timers = Math.max(peaks.timers, timers);
    peaks.listeners = Math.max(peaks.listeners, listeners);
    this.#checker.checkResources({ activeSessions: stats.activeSessions, timers, listeners }, sample.atMs);
    peaks.generatorSignalListeners = Math.max(peaks.generatorSignalListeners, this.#checker.checkRunSignals(this.#runSignals, sample.atMs));
    this.#checker.checkStats(stats, sample.atMs);
    // Also the per-event checks, so that in a long quiet spell a session overstaying its TTL is
    // reported within one sample interval rather than at the next hook.
    this.#checker.afterEvent(sample.atMs);
  }

  #result(stoppedEarly: boolean): SimulationResult {
    const stats = this.#target.stats();
    const account = this.#store.accounting();
    const violationCounts: Partial<Record<InvariantName, number>> = {};
    for (const name of INVARIANT_NAMES) {
      const count = this.#checker.violationCounts().get(name);
      if (count) violationCounts[name] = count;
    }
    for (const violation of this.#checker.violations) {
      // The trace hash covers what the target did and the bounds it broke; the model's verdicts are
      // judgement added on top, left out so that judging a run more closely keeps its pinned hash.
      if (violation.invariant === 'matches-model') continue;
      this.#trace.mix(100 + INVARIANT_NAMES.indexOf(violation.invariant));
      this.#trace.mixTime(violation.atMs);
    }
    return {
      seed: this.#input.seed,
      traceHash: this.#trace.hex(),
      passed: !this.#checker.failed,
      violations: this.#checker.violations,
      violationCounts,
      stoppedEarly,
      endMs: this.#clock.nowMs,
      hookEvents: { ...this.#hookEvents },
      agentEvents: this.#agentEvents,
      totals: {
        sessionsCreated: this.#sessionsCreated,
        refusedSessions: this.#refused,
        privateDrops: this.#privateDrops,
        skippedTools: this.#skippedTools,
        messagesQueued: this.#queued,
        messagesProcessed: account.processed,
        evictions: this.#evictionsBefore + stats.evictions,
        expirations: this.#expirationsBefore + stats.expirations,
        trimmedMessages: this.#trimmedBefore + stats.trimmedMessages,
        workerRestarts: this.#restarts,
        lostAtRestart: this.#lostAtRestart,
        coldResumes: this.#costs.coldResumes,
        droppedHistoryMessages: this.#costs.droppedHistoryMessages,
      },
      peaks: { ...this.#peaks },
      samples: this.#samples,
      warnings: this.#warnings.summary(),
    };
  }
}

function isPromiseLike<T>(value: Awaitable<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

function isQueued(result: unknown): result is { readonly queued: true; readonly sessionDbId: number; readonly message: PendingMessage } {
  return typeof result === 'object' && result !== null && (result as { queued?: unknown }).queued === true;
}

/** A session-limit refusal, also when an adapter throws leaksim's error from another copy of the module. */
function isSessionLimit(error: unknown): error is SessionLimitError {
  return error instanceof SessionLimitError || (error as { code?: unknown } | null)?.code === 'LEAKSIM_SESSION_LIMIT';
}

/** What claude-mem wraps around a tool use's input and response to make an observation prompt. */
export const OBSERVATION_TEMPLATE_CHARS = 600;
/** What it wraps around the last assistant message to make a summarize prompt. */
export const SUMMARY_TEMPLATE_CHARS = 800;
