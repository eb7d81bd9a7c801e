/**
 * A hand-driven world for the rule checks: a real @sinonjs/fake-timers clock, a real
 * PendingStore, and the manual agent (manual-agent.ts), whose generator runs do exactly what the
 * test says, when it says. Unlike the properties' world, it judges nothing itself: each rule
 * check asserts what its rule promises.
 */
import type { RemovalReason, SynchronousTarget, SynchronousTargetFactory } from '../../src/contract.ts';
import { PendingStore } from '../../src/pending-store.ts';
import { DEFAULT_SETTINGS, MINUTE_MS, parseSettings, settingsFileText, type RetentionSettings } from '../../src/settings.ts';
import { ORIGIN_EPOCH_MS } from '../../sim/runs/run.ts';
import { installFakeClock, type FakeClock } from './fake-clock.ts';
import { ManualAgent, settle, type ManualRun } from './manual-agent.ts';

export { settle } from './manual-agent.ts';

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

/** A target under a fake clock, with its store, agent and the removals it reported. */
export class World {
  readonly settings: RetentionSettings;
  readonly store = new PendingStore();
  readonly agent = new ManualAgent(() => this.nowMs);
  readonly removals: { sessionDbId: number; reason: RemovalReason; atMs: number }[] = [];
  readonly factory: SynchronousTargetFactory;
  clock: FakeClock;
  target: SynchronousTarget;

  constructor(factory: SynchronousTargetFactory, settings: Partial<RetentionSettings> = {}) {
    this.settings = Object.freeze({ ...TEST_SETTINGS, ...settings });
    this.factory = factory;
    this.clock = installFakeClock(ORIGIN_EPOCH_MS);
    try {
      this.target = this.#build();
    } catch (error) {
      this.clock.uninstall();
      throw error;
    }
  }

  /** Fake milliseconds since the world began. */
  get nowMs(): number {
    return this.clock.now - ORIGIN_EPOCH_MS;
  }

  /** Advances fake time, letting promise chains run between timers. */
  async advance(ms: number): Promise<void> {
    await this.clock.tickAsync(ms);
    await settle();
  }

  /** The worker dies and comes back: its timers and generators die with it, the store survives. */
  async restartWorker(): Promise<void> {
    const now = this.clock.now;
    this.agent.killAll();
    this.clock.uninstall();
    this.clock = installFakeClock(now);
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

  /** The session's one live generator run; throws when there is none or more than one. */
  run(sessionDbId: number): ManualRun {
    const runs = this.agent.runsFor(sessionDbId);
    if (runs.length !== 1) throw new Error(`expected one live generator for session ${sessionDbId}, found ${runs.length}`);
    return runs[0]!;
  }

  /** Runs the session's live generator to the end: processes everything, then finishes. */
  async complete(sessionDbId: number): Promise<void> {
    this.run(sessionDbId).finish();
    await settle();
  }

  timers(): number {
    return this.clock.countTimers();
  }

  reasonFor(sessionDbId: number): RemovalReason | undefined {
    return this.removals.find((removal) => removal.sessionDbId === sessionDbId)?.reason;
  }

  /** Gives the globals back; generators still running die with the world. */
  dispose(): void {
    this.agent.killAll();
    this.clock.uninstall();
  }

  /** The settings reach the target as the gate's do: written as claude-mem's settings.json and read back by src/settings.ts. */
  #build(): SynchronousTarget {
    const settingsFile = { file: 'world settings.json', text: settingsFileText(this.settings) };
    return this.factory({
      settings: parseSettings(settingsFile.text, settingsFile.file, this.settings),
      settingsFile,
      store: this.store,
      agent: this.agent,
      observer: { onRemoved: (sessionDbId, reason) => this.removals.push({ sessionDbId, reason, atMs: this.nowMs }) },
    });
  }
}

/** Runs `body` in a fresh world and always disposes of it. */
export async function inWorld(factory: SynchronousTargetFactory, settings: Partial<RetentionSettings>, body: (world: World) => Promise<void>): Promise<void> {
  const world = new World(factory, settings);
  try {
    await body(world);
  } finally {
    world.dispose();
  }
}
