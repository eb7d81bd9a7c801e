/**
 * The traffic model: a team of developers working in Claude Code over days, as the worker's hooks
 * see it. It only generates; it never judges (that is invariants.ts).
 *
 * Each developer is an independent stream with its own RNG stream (`traffic.dev<N>`), so a
 * developer's traffic does not change when the team grows or a fault is switched on. A developer
 * does one thing at a time, so each stream is in time order; the team's streams are merged by a
 * small heap (one entry per developer), lazily: memory is O(developers), whatever the length.
 *
 * A working day: start at `workdayStartHour` plus jitter; sessions one after another; each session
 * is prompts, each prompt a burst of tool uses and a Stop. A session then ends in one of four ways:
 * properly (SessionEnd), abandoned (the terminal was closed: no hook at all), resumed later (the
 * same session id comes back after hours or days), or cleared (/clear: SessionEnd, then a new
 * session at once).
 */
import FlatQueue from 'flatqueue';
import TinyQueue from 'tinyqueue';
import type { SessionEndReason, SessionEvent } from './events.ts';
import { Rng } from './rng.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface SessionEndings {
  readonly proper: number;
  readonly abandoned: number;
  readonly resumed: number;
  readonly cleared: number;
}

export interface TrafficModel {
  readonly developers: number;
  readonly days: number;
  /** Whether developers also work on Saturdays and Sundays (day 0 is a Monday). */
  readonly weekends: boolean;
  readonly workdayStartHour: number;
  readonly workdayHours: number;
  /** Each developer starts within this many minutes after `workdayStartHour`. */
  readonly startJitterMinutes: number;
  readonly projectsPerDeveloper: number;
  /** Means; each draw is spread over [mean/2, 3·mean/2] (see Rng.around). */
  readonly sessionsPerDay: number;
  readonly promptsPerSession: number;
  readonly toolUsesPerPrompt: number;
  /** Means of exponential gaps. */
  readonly toolGapSeconds: number;
  readonly answerSeconds: number;
  readonly promptGapMinutes: number;
  readonly sessionGapMinutes: number;
  readonly resumeAfterHours: number;
  /** Relative weights of the ways a session ends. */
  readonly endings: SessionEndings;
  /** Mean content sizes in characters. */
  readonly promptChars: number;
  readonly toolInputChars: number;
  readonly toolResponseChars: number;
  readonly stopChars: number;
}

/** The longest run leaksim simulates (a scenario's `days`, `--days`, a replay's length). */
export const MAX_SIMULATED_DAYS = 366;
/**
 * The most hook events one run may be expected to play: about twelve times the heavy month (1.6
 * million), a few minutes of simulation. Checked on an estimate before anything runs, so a
 * scenario or replay that would run for hours is refused with its numbers instead.
 */
export const MAX_HOOK_EVENTS = 20_000_000;

/**
 * An upper estimate of the hook events a model plays over `days`: every day a working day, every
 * draw at its mean, and per session a start, an end, and per prompt the prompt, its tool uses and
 * a Stop.
 */
export function estimateHookEvents(model: Pick<TrafficModel, 'developers' | 'sessionsPerDay' | 'promptsPerSession' | 'toolUsesPerPrompt'>, days: number): number {
  const most = hookEventCounts(model);
  return model.developers * days * most.sessionsPerDay * (2 + most.promptsPerSession * (2 + most.toolUsesPerPrompt));
}

/**
 * The most sessions a day, prompts a session and tool uses a prompt the model can draw: Rng.around
 * draws at most round(1.5 × mean), and sessions and prompts at least 1 (a day of 0.001 sessions
 * still gets one). So estimateHookEvents is an upper bound for every model the schema accepts, not
 * an average that a skewed scenario could pass a thousand times over.
 */
export function hookEventCounts(model: Pick<TrafficModel, 'sessionsPerDay' | 'promptsPerSession' | 'toolUsesPerPrompt'>): { sessionsPerDay: number; promptsPerSession: number; toolUsesPerPrompt: number } {
  return {
    sessionsPerDay: Math.max(1, Math.round(model.sessionsPerDay * 1.5)),
    promptsPerSession: Math.max(1, Math.round(model.promptsPerSession * 1.5)),
    toolUsesPerPrompt: Math.max(0, Math.round(model.toolUsesPerPrompt * 1.5)),
  };
}

export const DEFAULT_TRAFFIC: TrafficModel = Object.freeze({
  developers: 5,
  days: 7,
  weekends: false,
  workdayStartHour: 9,
  workdayHours: 8,
  startJitterMinutes: 60,
  projectsPerDeveloper: 2,
  sessionsPerDay: 6,
  promptsPerSession: 8,
  toolUsesPerPrompt: 12,
  toolGapSeconds: 6,
  answerSeconds: 20,
  promptGapMinutes: 3,
  sessionGapMinutes: 20,
  resumeAfterHours: 6,
  endings: Object.freeze({ proper: 4, abandoned: 3, resumed: 2, cleared: 1 }),
  promptChars: 2_000,
  toolInputChars: 1_500,
  toolResponseChars: 3_000,
  stopChars: 1_000,
});

/** Tools by how often Claude Code calls them. */
const TOOL_WEIGHTS = { Read: 30, Bash: 25, Edit: 20, Grep: 10, Glob: 5, Write: 5, TodoWrite: 3, WebFetch: 2 } as const;

const DAY_OF_WEEK_SATURDAY = 5;

interface ResumableSession {
  readonly id: string;
  readonly project: string;
  readonly resumeAtMs: number;
}

/**
 * One developer's hook events over the whole run, in time order: days of sessions, each session
 * prompts, each prompt tool uses and a stop, then an ending (a proper end, a clear, an abandoned
 * session, or one resumed hours later).
 *
 * A state machine rather than a generator function: a team holds one stream per developer for the
 * whole run, and a suspended generator keeps its whole frame (1.24 KB a developer, measured with
 * 10,000 of them), where this keeps its few fields (about 0.4 KB). Its draws from the random stream
 * are the generator's, in the same order, so the events are the same bytes.
 */
export function developerTraffic(model: TrafficModel, seed: number, developer: number): IterableIterator<SessionEvent> {
  return new DeveloperStream(model, seed, developer);
}

/** Where a developer's stream stands between two events. */
const enum Step {
  /** Before a day: the next working day starts (or the run is over). */
  Day,
  /** Before a session slot of the day. */
  Slot,
  /** The session started: its prompts are drawn. */
  Started,
  /** Before a prompt of the session. */
  Prompt,
  /** A prompt was sent: its tool uses are drawn. */
  Prompted,
  /** Before a tool use of the prompt (or, after the last, the stop). */
  Tool,
  /** The prompt's stop was sent: the gap before the next prompt. */
  Stopped,
  /** The session's prompts are over: how it ends. */
  Ending,
  /** The session ended: the gap before the next slot. */
  Ended,
  Done,
}

class DeveloperStream implements IterableIterator<SessionEvent> {
  readonly #model: TrafficModel;
  readonly #rng: Rng;
  readonly #name: string;
  readonly #projects: readonly string[];
  readonly #resumable: ResumableSession[] = [];
  #step = Step.Day;
  #sessionNumber = 0;
  #clockMs = 0;
  #day = 0;
  #dayEndMs = 0;
  #sessions = 0;
  #slot = 0;
  #afterClear = false;
  #id = '';
  #project = '';
  #prompts = 0;
  #prompt = 0;
  #toolUses = 0;
  #use = 0;

  constructor(model: TrafficModel, seed: number, developer: number) {
    this.#model = model;
    this.#rng = Rng.stream(seed, `traffic.dev${developer}`);
    this.#name = `dev${String(developer).padStart(2, '0')}`;
    this.#projects = Array.from({ length: Math.max(1, model.projectsPerDeveloper) }, (_, index) => `${this.#name}-project${index + 1}`);
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<SessionEvent> {
    const model = this.#model;
    const rng = this.#rng;
    for (;;) {
      switch (this.#step) {
        case Step.Day: {
          if (this.#day >= model.days) {
            this.#step = Step.Done;
            continue;
          }
          const day = this.#day++;
          if (!model.weekends && day % 7 >= DAY_OF_WEEK_SATURDAY) continue;
          const dayStartMs = day * DAY_MS + model.workdayStartHour * HOUR_MS + rng.float() * model.startJitterMinutes * 60_000;
          this.#dayEndMs = dayStartMs + model.workdayHours * HOUR_MS;
          this.#clockMs = Math.max(this.#clockMs, dayStartMs);
          this.#sessions = rng.around(model.sessionsPerDay, 1);
          this.#afterClear = false;
          this.#slot = 0;
          this.#step = Step.Slot;
          continue;
        }
        case Step.Slot: {
          if (this.#slot >= this.#sessions || this.#clockMs >= this.#dayEndMs) {
            this.#step = Step.Day;
            continue;
          }
          const resumable = this.#resumable;
          const resumed = resumable.length > 0 && resumable[0]!.resumeAtMs <= this.#clockMs ? resumable.shift() : undefined;
          this.#id = resumed?.id ?? `${this.#name}-s${String(++this.#sessionNumber).padStart(4, '0')}`;
          this.#project = resumed?.project ?? rng.pick(this.#projects);
          this.#step = Step.Started;
          return this.#event({ kind: 'session-start', atMs: this.#atMs(), session: this.#id, project: this.#project, source: resumed ? 'resume' : this.#afterClear ? 'clear' : 'startup' });
        }
        case Step.Started:
          this.#prompts = rng.around(model.promptsPerSession, 1);
          this.#prompt = 0;
          this.#step = Step.Prompt;
          continue;
        case Step.Prompt:
          if (this.#prompt >= this.#prompts) {
            this.#step = Step.Ending;
            continue;
          }
          this.#clockMs += 1_000 + rng.exponential(5_000);
          this.#step = Step.Prompted;
          return this.#event({ kind: 'prompt', atMs: this.#atMs(), session: this.#id, project: this.#project, promptChars: rng.around(model.promptChars, 1) });
        case Step.Prompted:
          this.#toolUses = rng.around(model.toolUsesPerPrompt);
          this.#use = 0;
          this.#step = Step.Tool;
          continue;
        case Step.Tool:
          if (this.#use >= this.#toolUses) {
            this.#clockMs += rng.exponential(model.answerSeconds * 1_000);
            this.#step = Step.Stopped;
            return this.#event({ kind: 'stop', atMs: this.#atMs(), session: this.#id, project: this.#project, messageChars: rng.around(model.stopChars, 1) });
          }
          this.#use += 1;
          this.#clockMs += 200 + rng.exponential(model.toolGapSeconds * 1_000);
          return this.#event({
            kind: 'tool-use',
            atMs: this.#atMs(),
            session: this.#id,
            project: this.#project,
            toolName: rng.weighted(TOOL_WEIGHTS),
            inputChars: rng.around(model.toolInputChars, 1),
            responseChars: rng.around(model.toolResponseChars, 1),
          });
        case Step.Stopped:
          this.#clockMs += rng.exponential(model.promptGapMinutes * 60_000);
          this.#prompt += 1;
          this.#step = Step.Prompt;
          continue;
        case Step.Ending: {
          const ending = rng.weighted(model.endings);
          this.#afterClear = ending === 'cleared';
          this.#step = Step.Ended;
          if (ending === 'proper' || ending === 'cleared') {
            const reason: SessionEndReason = ending === 'cleared' ? 'clear' : 'prompt_input_exit';
            return this.#event({ kind: 'session-end', atMs: this.#atMs(), session: this.#id, project: this.#project, reason });
          }
          if (ending === 'resumed') insertByResumeTime(this.#resumable, { id: this.#id, project: this.#project, resumeAtMs: this.#clockMs + rng.exponential(model.resumeAfterHours * HOUR_MS) });
          continue;
        }
        case Step.Ended:
          if (!this.#afterClear) this.#clockMs += rng.exponential(model.sessionGapMinutes * 60_000);
          this.#slot += 1;
          this.#step = Step.Slot;
          continue;
        case Step.Done:
          return { done: true, value: undefined };
      }
    }
  }

  #atMs(): number {
    return Math.round(this.#clockMs);
  }

  #event(event: SessionEvent): IteratorResult<SessionEvent> {
    return { done: false, value: event };
  }
}

function insertByResumeTime(queue: ResumableSession[], session: ResumableSession): void {
  let index = queue.length;
  while (index > 0 && queue[index - 1]!.resumeAtMs > session.resumeAtMs) index -= 1;
  queue.splice(index, 0, session);
}

interface StreamHead {
  readonly event: SessionEvent;
  readonly developer: number;
  readonly stream: Iterator<SessionEvent>;
}

/**
 * The whole team's traffic, merged into one time-ordered stream (ties broken by developer).
 *
 * A binary heap of one head per developer, kept in flat typed arrays (flatqueue): the key is
 * `atMs × slots + developer`, an exact integer below 2^53, so keys are unique and order by time,
 * then developer. At 100,000 developers a heap of objects compared through two pointers each cost
 * more per event than the rest of the traffic model (cache misses, and an object per event to
 * collect); the flat heap keeps the merge's cost close to flat in team size. Past what the key can
 * hold exactly (over 262,144 developers, or years of traffic) the object heap takes over.
 */
export function* teamTraffic(model: TrafficModel, seed: number): Generator<SessionEvent> {
  const slots = 2 ** Math.ceil(Math.log2(model.developers + 1));
  const lastMs = (model.days + 2) * DAY_MS; // a day's last sessions may run past midnight
  if (lastMs * slots >= Number.MAX_SAFE_INTEGER) {
    yield* teamTrafficByObjects(model, seed);
    return;
  }
  const streams: Iterator<SessionEvent>[] = [];
  const heads: (SessionEvent | undefined)[] = [];
  const queue = new FlatQueue<number>();
  for (let developer = 1; developer <= model.developers; developer += 1) {
    const stream = developerTraffic(model, seed, developer);
    streams[developer] = stream;
    const first = stream.next();
    if (first.done) continue;
    heads[developer] = first.value;
    queue.push(developer, keyOf(first.value.atMs, slots, developer, lastMs));
  }
  while (queue.length > 0) {
    const developer = queue.pop()!;
    yield heads[developer]!;
    const next = streams[developer]!.next();
    if (next.done) {
      heads[developer] = undefined;
      continue;
    }
    heads[developer] = next.value;
    queue.push(developer, keyOf(next.value.atMs, slots, developer, lastMs));
  }
}

function keyOf(atMs: number, slots: number, developer: number, lastMs: number): number {
  if (!Number.isInteger(atMs) || atMs < 0 || atMs >= lastMs) throw new Error(`traffic event at ${atMs} ms: outside the run or not whole milliseconds`);
  return atMs * slots + developer;
}

/** The merge with a heap of objects: for teams or runs too large for teamTraffic's exact integer keys. */
export function* teamTrafficByObjects(model: TrafficModel, seed: number): Generator<SessionEvent> {
  const heads = new TinyQueue<StreamHead>([], (a, b) => a.event.atMs - b.event.atMs || a.developer - b.developer);
  for (let developer = 1; developer <= model.developers; developer += 1) {
    const stream = developerTraffic(model, seed, developer);
    const first = stream.next();
    if (!first.done) heads.push({ event: first.value, developer, stream });
  }
  while (heads.length > 0) {
    const head = heads.pop()!;
    yield head.event;
    const next = head.stream.next();
    if (!next.done) heads.push({ event: next.value, developer: head.developer, stream: head.stream });
  }
}
