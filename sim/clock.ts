/**
 * Virtual time. The simulator owns it; the target only sees the faked globals.
 *
 * `@sinonjs/fake-timers` fakes Date, performance.now, setTimeout/setInterval/setImmediate and
 * their clears. `nextTick` and `queueMicrotask` stay real: faking them hangs promise code, and the
 * driver settles promises itself (see `settle`). The clock is advanced with the synchronous `tick`
 * (about 0.2 µs a call, against 3.6 µs for `tickAsync`) and only as far as the next event: the
 * driver's own queue carries the traffic, so fake timers hold only the target's few timers.
 *
 * A runaway (a timer that keeps rescheduling itself) would turn the time between two events into
 * millions of calls. Every timer callback passes through a counter, which the driver resets at
 * each traffic or agent event (`beginStep`); more than `TIMER_CALLBACKS_PER_STEP_MAX` between two
 * events ends the run with `RunawayTimersError`, which the driver reports with the seed.
 */
import * as FakeTimers from '@sinonjs/fake-timers';

type InstalledClock = ReturnType<typeof FakeTimers.install>;

/** More timer callbacks than this between two events is a runaway, not a workload. */
export const TIMER_CALLBACKS_PER_STEP_MAX = 10_000;

export class RunawayTimersError extends Error {
  constructor(readonly atMs: number, readonly callbacks: number) {
    super(`runaway timers: more than ${callbacks} timer callbacks between two events, at t=${atMs} ms`);
    this.name = 'RunawayTimersError';
  }
}

// Captured before any clock is installed: the driver settles promises on the real event loop.
const realSetImmediate = globalThis.setImmediate;

/**
 * Lets every pending promise callback run. Node runs a nextTick callback only once the microtask
 * queue is empty, so awaiting one drains all promise work without a turn of the event loop (a
 * real setImmediate costs several times more, and the driver settles thousands of times a
 * second). Two rounds, so that work a target itself defers with nextTick is drained too.
 */
export async function settle(): Promise<void> {
  await new Promise<void>((resolve) => process.nextTick(resolve));
  await new Promise<void>((resolve) => process.nextTick(resolve));
}

/** A full turn of the real event loop: for the rare moments that must let I/O callbacks run too. */
export function settleTurn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance'] as const;

let installed: SimClock | undefined;

export class SimClock {
  readonly originEpochMs: number;
  #clock: InstalledClock;
  #callbacksThisStep = 0;
  #callbacksMax: number;

  private constructor(originEpochMs: number, callbacksMax: number) {
    this.originEpochMs = originEpochMs;
    this.#callbacksMax = callbacksMax;
    this.#clock = this.#install(originEpochMs);
  }

  /** Installs the fake clock at `originEpochMs`. Only one simulation may hold the globals at a time. */
  static install(originEpochMs: number, callbacksMax = TIMER_CALLBACKS_PER_STEP_MAX): SimClock {
    if (installed) throw new Error('a simulation clock is already installed in this process');
    installed = new SimClock(originEpochMs, callbacksMax);
    return installed;
  }

  /** Milliseconds since the run's origin. */
  get nowMs(): number {
    return this.#clock.now - this.originEpochMs;
  }

  /** Advances to `atMs` (run time), firing every target timer due by then, in order. */
  advanceTo(atMs: number): void {
    const delta = atMs - this.nowMs;
    if (delta < 0) return;
    this.#clock.tick(delta); // tick(0) fires what is due now: a zero-delay timer set outside a tick
  }

  /** A new traffic or agent event: the runaway guard counts timer callbacks from here. */
  beginStep(): void {
    this.#callbacksThisStep = 0;
  }

  /**
   * When (run time) the earliest target timer is due; Infinity when the target holds none.
   * fake-timers 15 keeps its timers in a binary heap (`timerHeap`) that its typed API does not
   * show; its head is the only way to learn the next due time without firing it, and the driver
   * needs that to stop the clock at each timer. The major version is pinned for this.
   */
  nextTimerMs(): number {
    const first = (this.#clock as unknown as { timerHeap?: { peek(): { callAt: number } | undefined } }).timerHeap?.peek();
    return first ? first.callAt - this.originEpochMs : Infinity;
  }

  /** Timers the target holds right now, counted by the fake clock itself (O(timers)). */
  timerCount(): number {
    return this.#clock.countTimers();
  }

  /**
   * A worker restart: the process dies, so its timers die with it. The fake clock is replaced
   * by a fresh one at the same wall time (performance.now starts again near zero, as it does in
   * a new process).
   */
  restartProcess(): void {
    const wallMs = this.#clock.now;
    this.#clock.uninstall();
    this.#clock = this.#install(wallMs);
  }

  uninstall(): void {
    this.#clock.uninstall();
    if (installed === this) installed = undefined;
  }

  #install(nowEpochMs: number): InstalledClock {
    const clock = FakeTimers.install({ now: nowEpochMs, toFake: [...FAKED], loopLimit: this.#callbacksMax });
    for (const name of ['setTimeout', 'setInterval', 'setImmediate'] as const) this.#count(name);
    return clock;
  }

  /** Wraps a faked scheduler so that each callback it runs is counted against the step limit. */
  #count(name: 'setTimeout' | 'setInterval' | 'setImmediate'): void {
    const faked = globalThis[name] as (callback: (...args: unknown[]) => void, ...rest: unknown[]) => unknown;
    const wrapped = (callback: (...args: unknown[]) => void, ...rest: unknown[]) =>
      faked((...args: unknown[]) => {
        this.#callbacksThisStep += 1;
        if (this.#callbacksThisStep > this.#callbacksMax) throw new RunawayTimersError(this.nowMs, this.#callbacksMax);
        callback(...args);
      }, ...rest);
    (globalThis as Record<string, unknown>)[name] = Object.assign(wrapped, faked);
  }
}
