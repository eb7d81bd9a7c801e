/**
 * The model of a session manager, and the commands of a model-based run (`fc.commands` with
 * `fc.asyncModelRun`). Each command is a tiny class: `check` says whether it applies to the model,
 * `run` applies it to the world (target, store, agent, clock) and the model, then judges, and
 * `toString` is one line of the story a shrunk counterexample tells.
 *
 * The model predicts what the rules decide: whether a prompt or queued message creates a session,
 * evicts an idle one or is refused; which sessions a delete, a restart or a shutdown leaves; which
 * removals may be reported. Busy-ness is not predicted but read from ground truth (the store and
 * the agent), as the simulator's checker does. After every command the world's invariants are
 * checked first (so a failure is named by the invariant it breaks), then model and target must
 * agree on which sessions exist (`model-agrees`).
 */
import fc from 'fast-check';
import { SessionLimitError, type QueueResult } from '../../../src/contract.ts';
import type { RetentionSettings } from '../../../src/settings.ts';
import { COMMANDS_REPLAY_PATH } from './runs.ts';
import { InvariantViolation, settle, type Removal, type World } from './world.ts';

export const CONTENT_SESSIONS = ['A', 'B', 'C'] as const;
export type ContentSession = (typeof CONTENT_SESSIONS)[number];

export interface Model {
  readonly settings: RetentionSettings;
  /** Sessions with a record in the store: prompted at least once. */
  readonly known: Set<ContentSession>;
  /** Sessions the model expects in memory. */
  readonly inMemory: Set<ContentSession>;
  closed: boolean;
}

export function initialModel(settings: RetentionSettings): Model {
  return { settings, known: new Set(), inMemory: new Set(), closed: false };
}

type SessionCommand = fc.AsyncCommand<Model, World>;

/** What a new session (a prompt or queued message for a session not in memory) must lead to. */
type Prediction = 'existing' | 'create' | 'evict' | 'refuse';

function idOf(world: World, session: ContentSession): number | undefined {
  return world.store.lookup(session)?.sessionDbId;
}

function predict(model: Model, world: World, session: ContentSession): Prediction {
  if (model.inMemory.has(session)) return 'existing';
  if (model.inMemory.size < model.settings.maxActiveSessions) return 'create';
  for (const other of model.inMemory) if (!world.busy(idOf(world, other)!)) return 'evict';
  return 'refuse';
}

function disagree(detail: string): never {
  throw new InvariantViolation('model-agrees', detail);
}

/** The outcome of a call that may create a session, judged against the prediction. */
function judgeCreation(model: Model, world: World, session: ContentSession, prediction: Prediction, outcome: { created: boolean } | 'refused'): void {
  if (outcome === 'refused') {
    world.refused();
    world.checkInvariants();
    if (prediction !== 'refuse') disagree(`${session} was refused, but ${prediction === 'evict' ? 'an idle session could have been evicted' : 'there was room'}`);
    return;
  }
  const sessionDbId = idOf(world, session)!;
  if (outcome.created) world.created(sessionDbId);
  world.checkInvariants();
  if (prediction === 'refuse') disagree(`${session} was let in although every one of the ${model.settings.maxActiveSessions} sessions was busy`);
  if (outcome.created !== (prediction !== 'existing')) disagree(`${session} was ${outcome.created ? 'created' : 'not created'}, expected it ${prediction === 'existing' ? 'to exist already' : 'to be created'}`);
  const evicted = takeRemovals(world, 'evicted');
  if (evicted.length !== (prediction === 'evict' ? 1 : 0)) disagree(`${evicted.length} sessions evicted to let ${session} in, expected ${prediction === 'evict' ? 1 : 0}`);
  for (const removal of evicted) dropFromModel(model, world, removal.sessionDbId);
  model.inMemory.add(session);
}

/** Consumes the removal reports of one reason; any other reason left over is a disagreement. */
function takeRemovals(world: World, reason: Removal['reason']): Removal[] {
  const taken = world.removals.filter((removal) => removal.reason === reason);
  const other = world.removals.find((removal) => removal.reason !== reason);
  world.removals.length = 0;
  if (other) disagree(`session ${other.sessionDbId} was removed (${other.reason}) where only ${reason} removals can happen`);
  return taken;
}

function dropFromModel(model: Model, world: World, sessionDbId: number): void {
  for (const session of model.inMemory) if (idOf(world, session) === sessionDbId) model.inMemory.delete(session);
}

/** Model and target hold the same sessions. */
function agree(model: Model, world: World): void {
  const expected = [...model.inMemory].map((session) => `${session}#${idOf(world, session)}`).sort();
  const actual = [...world.inMemory.keys()].map((id) => `${world.store.recordById(id)!.contentSessionId}#${id}`).sort();
  if (expected.join() !== actual.join()) disagree(`model expects sessions [${expected.join(', ')}] in memory, the target holds [${actual.join(', ')}]`);
}

/** After time passed: expiries are the only removals, each judged by the world's observer. */
function afterTimePassed(model: Model, world: World): void {
  world.checkInvariants();
  for (const removal of takeRemovals(world, 'expired')) dropFromModel(model, world, removal.sessionDbId);
  agree(model, world);
}

const open = (model: Readonly<Model>) => !model.closed;

/**
 * What the session's waiting generator does right after a hook call: the common case is that the
 * provider answers at once; the others leave it running, hung, or dead. Folding this into the hook
 * command keeps the stories that matter short (a prompt answered, time passes, another answered).
 */
export type Reaction = 'answers' | 'waits' | 'hangs' | 'crashes';

const REACTION_TEXT: Record<Reaction, string> = { answers: 'answered', waits: 'generator left running', hangs: 'generator hangs', crashes: 'generator crashes' };

function react(world: World, session: ContentSession, reaction: Reaction): void {
  if (reaction === 'waits') return;
  const sessionDbId = idOf(world, session);
  const run = sessionDbId === undefined ? undefined : world.agent.waitingRun(sessionDbId);
  if (!run) return;
  if (reaction === 'answers') run.finish();
  else if (reaction === 'hangs') run.hang();
  else run.crash();
}

class Prompt implements SessionCommand {
  constructor(
    readonly session: ContentSession,
    readonly chars: number,
    readonly serial: number,
    readonly reaction: Reaction,
  ) {}
  check = open;
  async run(model: Model, world: World): Promise<void> {
    const prediction = predict(model, world, this.session);
    const userPrompt = `prompt ${this.serial} for ${this.session}: `.padEnd(this.chars, 'p');
    world.hook(this.session, userPrompt);
    let outcome: { created: boolean } | 'refused';
    try {
      outcome = world.target.initializeSession({ contentSessionId: this.session, project: 'demo', userPrompt });
    } catch (error) {
      if (!(error instanceof SessionLimitError)) throw error;
      outcome = 'refused';
    }
    if (outcome !== 'refused') model.known.add(this.session);
    await settle();
    judgeCreation(model, world, this.session, prediction, outcome);
    react(world, this.session, this.reaction);
    await settle();
    world.checkInvariants();
    agree(model, world);
  }
  toString(): string {
    return `prompt ${this.session} (${this.chars} chars): ${REACTION_TEXT[this.reaction]}`;
  }
}

class Queue implements SessionCommand {
  constructor(
    readonly kind: 'observation' | 'summarize',
    readonly session: ContentSession,
    readonly chars: number,
    readonly reaction: Reaction,
  ) {}
  check = open;
  async run(model: Model, world: World): Promise<void> {
    const known = model.known.has(this.session);
    const prediction = predict(model, world, this.session);
    const text = `${this.kind} for ${this.session}: `.padEnd(this.chars, 'o');
    world.hook(this.session);
    let outcome: QueueResult | 'refused';
    try {
      outcome =
        this.kind === 'observation'
          ? world.target.queueObservation({ contentSessionId: this.session, toolName: 'Read', text })
          : world.target.queueSummarize({ contentSessionId: this.session, text });
    } catch (error) {
      if (!(error instanceof SessionLimitError)) throw error;
      outcome = 'refused';
    }
    if (outcome !== 'refused') world.queued(outcome);
    await settle();
    if (!known) {
      world.checkInvariants();
      if (outcome === 'refused' || outcome.queued) disagree(`${this.session} was never prompted, so its ${this.kind} must be dropped as private`);
      agree(model, world);
      return;
    }
    if (outcome !== 'refused' && !outcome.queued) disagree(`${this.session} has a prompt on record, but its ${this.kind} was dropped as private`);
    judgeCreation(model, world, this.session, prediction, outcome === 'refused' ? outcome : { created: outcome.created });
    react(world, this.session, this.reaction);
    await settle();
    world.checkInvariants();
    agree(model, world);
  }
  toString(): string {
    return `${this.kind === 'observation' ? 'observe' : 'summarize'} ${this.session} (${this.chars} chars): ${REACTION_TEXT[this.reaction]}`;
  }
}

type GeneratorAction = 'step' | 'finish' | 'crash' | 'hang';

class Generator implements SessionCommand {
  constructor(
    readonly action: GeneratorAction,
    readonly session: ContentSession,
  ) {}
  check = open;
  async run(model: Model, world: World): Promise<void> {
    const sessionDbId = idOf(world, this.session);
    const run = sessionDbId === undefined ? undefined : world.agent.waitingRun(sessionDbId);
    if (run) {
      if (this.action === 'step') run.step();
      else run[this.action]();
    }
    await settle();
    world.checkInvariants();
    if (world.removals.length) disagree(`session ${world.removals[0]!.sessionDbId} was removed (${world.removals[0]!.reason}) by a generator's work`);
    agree(model, world);
  }
  toString(): string {
    const what = { step: 'replies to one message', finish: 'finishes its queue and ends', crash: 'takes a message and crashes', hang: 'takes a message and hangs' }[this.action];
    return `${this.session}'s generator ${what}`;
  }
}

class Delete implements SessionCommand {
  constructor(readonly session: ContentSession) {}
  check = open;
  async run(model: Model, world: World): Promise<void> {
    const sessionDbId = idOf(world, this.session);
    if (sessionDbId === undefined) return;
    const expected = model.inMemory.has(this.session);
    world.deleting(sessionDbId);
    const deleted = await world.target.deleteSession(sessionDbId);
    await settle();
    world.checkInvariants();
    if (deleted !== expected) disagree(`delete ${this.session} answered ${deleted}, expected ${expected}`);
    const removals = takeRemovals(world, 'deleted');
    if (removals.length !== (expected ? 1 : 0) || (expected && removals[0]!.sessionDbId !== sessionDbId)) disagree(`delete ${this.session} reported ${removals.length} deletions`);
    model.inMemory.delete(this.session);
    agree(model, world);
  }
  toString(): string {
    return `delete ${this.session}`;
  }
}

/** A time step: a fixed length, or a fraction of the TTL (what makes "just before" and "just after" expiry likely). */
class Advance implements SessionCommand {
  #lastMs: number | undefined;
  constructor(
    readonly ms: number,
    readonly ttlFraction?: number,
  ) {}
  check = open;
  async run(model: Model, world: World): Promise<void> {
    this.#lastMs = this.ttlFraction === undefined ? this.ms : Math.round(this.ttlFraction * model.settings.ttlMs);
    await world.advance(this.#lastMs);
    afterTimePassed(model, world);
  }
  toString(): string {
    if (this.ttlFraction === undefined) return `advance ${formatDuration(this.ms)}`;
    return `advance ${this.ttlFraction} TTL${this.#lastMs === undefined ? '' : ` (${formatDuration(this.#lastMs)})`}`;
  }
}

class Restart implements SessionCommand {
  check = () => true;
  async run(model: Model, world: World): Promise<void> {
    // A restarted worker resumes exactly the sessions with persisted pending work.
    const resumed = [...model.known].filter((session) => world.store.pendingCount(idOf(world, session)!) > 0);
    world.removals.length = 0;
    await world.restart();
    world.checkInvariants();
    model.closed = false;
    model.inMemory.clear();
    for (const session of resumed) model.inMemory.add(session);
    agree(model, world);
  }
  toString(): string {
    return 'restart the worker';
  }
}

class Shutdown implements SessionCommand {
  check = open;
  async run(model: Model, world: World): Promise<void> {
    await world.shutdown();
    world.checkShutdown();
    world.checkInvariants();
    takeRemovals(world, 'shutdown');
    model.inMemory.clear();
    model.closed = true;
    agree(model, world);
  }
  toString(): string {
    return 'shut down';
  }
}

class Quiet implements SessionCommand {
  check = open;
  async run(model: Model, world: World): Promise<void> {
    world.agent.goQuiet();
    await settle();
    await world.advance(world.quietMs());
    afterTimePassed(model, world);
    world.checkDrained();
    world.agent.auto = false;
  }
  toString(): string {
    return 'work stops: waiting generators finish and time passes until everything should have drained';
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(ms % 1_000 ? 1 : 0)} s`;
  return `${(ms / 60_000).toFixed(ms % 60_000 ? 1 : 0)} min`;
}

/** Settings small enough that a few commands reach every limit. */
export const modelSettingsArbitrary: fc.Arbitrary<RetentionSettings> = fc.record({
  ttlMs: fc.constantFrom(60_000, 120_000, 300_000),
  maxActiveSessions: fc.integer({ min: 1, max: 3 }),
  maxHistoryMessages: fc.integer({ min: 3, max: 6 }),
  maxHistoryTokens: fc.integer({ min: 40, max: 300 }),
  generatorIdleTimeoutMs: fc.constantFrom(30_000, 60_000, 120_000),
  generatorRestartDelayMs: fc.constantFrom(1_000, 5_000),
});

const session = fc.constantFrom(...CONTENT_SESSIONS);
const reaction = fc.constantFrom<Reaction>('answers', 'answers', 'answers', 'waits', 'waits', 'hangs', 'crashes');

/**
 * The command mix. Weights bias toward what makes leaks visible in a few steps: hook calls and
 * generator moves first, time steps both small (within a generator's timeout) and around the TTL,
 * and now and then a restart, a shutdown or a quiet phase.
 */
export function sessionCommands(maxCommands: number): fc.Arbitrary<Iterable<SessionCommand>> {
  const command: fc.Arbitrary<SessionCommand> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(session, fc.integer({ min: 20, max: 400 }), fc.nat(999), reaction).map(([s, chars, serial, r]) => new Prompt(s, chars, serial, r)) },
    { weight: 4, arbitrary: fc.tuple(session, fc.integer({ min: 20, max: 600 }), reaction).map(([s, chars, r]) => new Queue('observation', s, chars, r)) },
    { weight: 2, arbitrary: fc.tuple(session, fc.integer({ min: 20, max: 300 }), reaction).map(([s, chars, r]) => new Queue('summarize', s, chars, r)) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom<GeneratorAction>('step', 'finish', 'finish', 'crash', 'hang'), session).map(([action, s]) => new Generator(action, s)) },
    { weight: 2, arbitrary: session.map((s) => new Delete(s)) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 30_000 }).map((ms) => new Advance(ms)) },
    { weight: 1, arbitrary: fc.integer({ min: 30_000, max: 900_000 }).map((ms) => new Advance(ms)) },
    { weight: 3, arbitrary: fc.constantFrom(0.25, 0.5, 0.75, 1, 1.5, 3).map((fraction) => new Advance(0, fraction)) },
    { weight: 1, arbitrary: fc.constant(new Restart()) },
    { weight: 1, arbitrary: fc.constant(new Shutdown()) },
    { weight: 1, arbitrary: fc.constant(new Quiet()) },
  );
  return fc.commands(
    [command],
    { maxCommands, size: 'max', ...(COMMANDS_REPLAY_PATH === undefined ? {} : { replayPath: COMMANDS_REPLAY_PATH }) },
  );
}
