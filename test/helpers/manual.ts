/**
 * A hand-driven world for unit tests of a target: a real @sinonjs/fake-timers clock, a real
 * PendingStore, and an agent whose generator runs do exactly what the test says, when it says:
 * claim, reply, acknowledge, finish, crash, or hang (do nothing until aborted).
 */
import * as FakeTimers from '@sinonjs/fake-timers';
import type { Agent, GeneratorContext, RemovalReason, SessionTarget, TargetFactory } from '../../src/contract.ts';
import { PendingStore, type PendingMessage } from '../../src/pending-store.ts';
import { DEFAULT_SETTINGS, MINUTE_MS, type RetentionSettings } from '../../src/settings.ts';

/** Monday 2026-01-05 00:00 UTC, as in the simulator. */
export const TEST_ORIGIN_EPOCH_MS = Date.UTC(2026, 0, 5);

/** Small settings that make every rule show within minutes of fake time. */
export const TEST_SETTINGS: RetentionSettings = Object.freeze({
  ...DEFAULT_SETTINGS,
  ttlMs: 10 * MINUTE_MS,
  maxActiveSessions: 3,
  maxHistoryMessages: 6,
  maxHistoryTokens: 1_000,
  generatorIdleTimeoutMs: 5 * MINUTE_MS,
  generatorRestartDelayMs: 1_000,
});

/** Lets promise callbacks (and work deferred with nextTick) run; nextTick is never faked. */
export async function settle(): Promise<void> {
  for (let round = 0; round < 4; round += 1) await new Promise<void>((resolve) => process.nextTick(resolve));
}

/** `killed`: its process died; the promise never settles, as nothing is left to settle it. */
export type RunState = 'running' | 'finished' | 'crashed' | 'aborted' | 'killed';

/** One generator run, held by the test. It ends only when told to, or when its signal aborts. */
export class ManualRun {
  readonly context: GeneratorContext;
  readonly promise: Promise<void>;
  state: RunState = 'running';
  readonly claimed: PendingMessage[] = [];
  #resolve!: () => void;
  #reject!: (reason: unknown) => void;
  readonly #onAbort = () => this.#end('aborted');

  constructor(context: GeneratorContext) {
    this.context = context;
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (context.signal.aborted) queueMicrotask(this.#onAbort);
    else context.signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  get sessionDbId(): number {
    return this.context.sessionDbId;
  }

  get live(): boolean {
    return this.state === 'running';
  }

  /** Claims the next message without acknowledging it (it stays in flight). */
  claim(): PendingMessage | undefined {
    const message = this.context.claim();
    if (message) this.claimed.push(message);
    return message;
  }

  /** Claims, sends, gets a reply and acknowledges each pending message; returns how many. */
  processAll(replyChars = 40): number {
    let processed = 0;
    for (let message = this.claim(); message; message = this.claim()) {
      this.context.append({ role: 'user', content: message.text });
      this.context.append({ role: 'assistant', content: 'r'.repeat(replyChars) });
      this.context.ack(message);
      processed += 1;
    }
    return processed;
  }

  /** Activity without work: the generator streams a reply. */
  reply(content: string): void {
    this.context.append({ role: 'assistant', content });
  }

  finish(): void {
    this.#end('finished');
  }

  crash(): void {
    this.#end('crashed');
  }

  kill(): void {
    if (this.state !== 'running') return;
    this.state = 'killed';
    this.context.signal.removeEventListener('abort', this.#onAbort);
  }

  #end(state: 'finished' | 'crashed' | 'aborted'): void {
    if (this.state !== 'running') return;
    this.state = state;
    this.context.signal.removeEventListener('abort', this.#onAbort);
    if (state === 'finished') this.#resolve();
    else this.#reject(state === 'crashed' ? new Error('generator crashed') : this.context.signal.reason);
  }
}

export class ManualAgent implements Agent {
  readonly runs: ManualRun[] = [];

  run(context: GeneratorContext): Promise<void> {
    const run = new ManualRun(context);
    this.runs.push(run);
    return run.promise;
  }

  liveRuns(sessionDbId: number): ManualRun[] {
    return this.runs.filter((run) => run.live && run.sessionDbId === sessionDbId);
  }

  /** The session's one live run; throws when there is none or more than one. */
  live(sessionDbId: number): ManualRun {
    const live = this.liveRuns(sessionDbId);
    if (live.length !== 1) throw new Error(`expected one live generator for session ${sessionDbId}, found ${live.length}`);
    return live[0]!;
  }
}

type InstalledClock = ReturnType<typeof FakeTimers.install>;

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance'] as const;

/** A target under a fake clock, with its store, agent and the removals it reported. */
export class World {
  readonly settings: RetentionSettings;
  readonly store = new PendingStore();
  readonly agent = new ManualAgent();
  readonly removals: { sessionDbId: number; reason: RemovalReason; atMs: number }[] = [];
  readonly factory: TargetFactory;
  clock: InstalledClock;
  target: SessionTarget;

  constructor(factory: TargetFactory, settings: Partial<RetentionSettings> = {}) {
    this.settings = Object.freeze({ ...TEST_SETTINGS, ...settings });
    this.factory = factory;
    this.clock = FakeTimers.install({ now: TEST_ORIGIN_EPOCH_MS, toFake: [...FAKED] });
    this.target = this.#build();
  }

  /** Fake milliseconds since the world began. */
  get nowMs(): number {
    return this.clock.now - TEST_ORIGIN_EPOCH_MS;
  }

  /** Advances fake time, letting promise chains run between timers. */
  async advance(ms: number): Promise<void> {
    await this.clock.tickAsync(ms);
    await settle();
  }

  /** The worker dies and comes back: its timers die with it, the store survives. */
  async restartWorker(): Promise<void> {
    const now = this.clock.now;
    for (const run of this.agent.runs) run.kill();
    this.clock.uninstall();
    this.clock = FakeTimers.install({ now, toFake: [...FAKED] });
    this.target = this.#build();
    this.target.start();
    await settle();
  }

  /** A user prompt (the init route); returns the session's database id. */
  prompt(contentSessionId: string, text = `prompt for ${contentSessionId}`): number {
    return this.target.initializeSession({ contentSessionId, project: 'leaksim', userPrompt: text }).sessionDbId;
  }

  observe(contentSessionId: string, text = `tool use in ${contentSessionId}`): void {
    const result = this.target.queueObservation({ contentSessionId, toolName: 'Read', text });
    if (!result.queued) throw new Error(`observation for ${contentSessionId} was not queued`);
  }

  summarize(contentSessionId: string): void {
    const result = this.target.queueSummarize({ contentSessionId, text: `summarize ${contentSessionId}` });
    if (!result.queued) throw new Error(`summarize for ${contentSessionId} was not queued`);
  }

  /** Runs the session's live generator to the end: processes everything, then finishes. */
  async complete(sessionDbId: number): Promise<void> {
    const run = this.agent.live(sessionDbId);
    run.processAll();
    run.finish();
    await settle();
  }

  timers(): number {
    return this.clock.countTimers();
  }

  reasonFor(sessionDbId: number): RemovalReason | undefined {
    return this.removals.find((removal) => removal.sessionDbId === sessionDbId)?.reason;
  }

  /** Shuts the target down if it is not already, and gives the globals back. Always call it. */
  async dispose(): Promise<void> {
    try {
      for (const run of this.agent.runs) run.crash();
      await settle();
    } finally {
      this.clock.uninstall();
    }
  }

  #build(): SessionTarget {
    return this.factory({
      settings: this.settings,
      store: this.store,
      agent: this.agent,
      observer: { onRemoved: (sessionDbId, reason) => this.removals.push({ sessionDbId, reason, atMs: this.nowMs }) },
    });
  }
}

/** Runs `body` in a fresh world and always disposes of it. */
export async function inWorld(factory: TargetFactory, settings: Partial<RetentionSettings>, body: (world: World) => Promise<void>): Promise<void> {
  const world = new World(factory, settings);
  try {
    await body(world);
  } finally {
    await world.dispose();
  }
}
