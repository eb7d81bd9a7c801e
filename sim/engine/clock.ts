/**
 * Virtual time. The simulator owns it; the target only sees the faked globals.
 *
 * `@sinonjs/fake-timers` fakes Date, performance.now, setTimeout/setInterval/setImmediate and
 * their clears; `AbortSignal.timeout`, which it leaves real, is replaced here by one on those timers. `nextTick` and `queueMicrotask` stay real: faking them hangs promise code, and the
 * driver settles promises itself (see `settle`). The clock is advanced with the synchronous `tick`
 * (about 0.2 µs a call, against 3.6 µs for `tickAsync`) and only as far as the next event: the
 * driver's own queue carries the traffic, so fake timers hold only the target's few timers.
 *
 * A runaway is a timer that keeps rescheduling itself with no delay. The guard measures a rate:
 * callbacks of zero-delay timers (setImmediate, or setTimeout/setInterval with a delay under 1 ms)
 * per window of simulated time. It cannot go by time alone: during a tick fake-timers schedules a
 * zero-delay timer 1 ms ahead, so a zero-delay loop looks like a 1 ms poll. A target's own
 * periodic timers (any period of at least 1 ms, across any quiet gap or sleep) are never counted;
 * a target deferring work with a zero-delay timer does so a few times per hook, far below the
 * limit. More than `ZERO_DELAY_CALLBACKS_PER_WINDOW_MAX` in `RUNAWAY_WINDOW_MS` of simulated time
 * ends the run with `RunawayTimersError`, which the driver reports with the seed. (Counting every
 * callback between two events instead, as before, made a 5-second poll across a quiet night a
 * runaway.)
 */
import { createRequire } from 'node:module';
import type * as FakeTimersModule from '@sinonjs/fake-timers';

/**
 * Loaded with `require`: fake-timers is CommonJS, and an ESM `import` of it makes Node start its
 * CommonJS lexer and scan the source for export names first (with jsonc-parser, src/jsonc.ts, a
 * third of a check worker's start).
 */
const FakeTimers = createRequire(import.meta.url)('@sinonjs/fake-timers') as typeof FakeTimersModule;
type InstalledClock = ReturnType<typeof FakeTimers.install>;

/** The window of simulated time over which the runaway guard counts zero-delay timer callbacks. */
export const RUNAWAY_WINDOW_MS = 60_000;
/** More zero-delay timer callbacks than this within one window is a runaway, not a workload (a loop makes one per simulated ms). */
export const ZERO_DELAY_CALLBACKS_PER_WINDOW_MAX = 10_000;
/**
 * fake-timers' own loop limit (timers fired by one `tick`): a backstop behind the rate guard, set
 * high because the driver's ticks may legitimately fire every timer due during a long sleep.
 */
const FAKE_TIMERS_LOOP_LIMIT = 100_000_000;

export class RunawayTimersError extends Error {
  constructor(
    readonly atMs: number,
    readonly callbacks: number,
    message = `runaway timers: more than ${callbacks} zero-delay timer callbacks within ${RUNAWAY_WINDOW_MS / 1_000} s of simulated time, at t=${atMs} ms`,
  ) {
    super(message);
    this.name = 'RunawayTimersError';
  }
}

// Captured before any clock is installed: the driver settles promises on the real event loop.
const realSetImmediate = globalThis.setImmediate;
/** Captured before any clock is installed: restored when the simulation clock is uninstalled. */
const realAbortSignalTimeout = AbortSignal.timeout;

/**
 * `AbortSignal.timeout` on simulated time. fake-timers does not fake it (fake-timers#521): left
 * real, a target's timeout signal (claude-mem 13.x's deleteSession races its generator against
 * `AbortSignal.timeout(30_000)`) would hold what it closes over for 30 s of real time, while the
 * simulation runs days in that time.
 */
function simulatedAbortSignalTimeout(delayMs: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), delayMs);
  return controller.signal;
}

/**
 * Lets every pending promise callback run. Node runs a nextTick callback only once the microtask
 * queue is empty, so awaiting one drains all promise work without a turn of the event loop (a
 * real setImmediate costs several times more, and the driver settles thousands of times a
 * second). Two rounds, so that work a target itself defers with nextTick is drained too.
 */
export function settle(): Promise<void> {
  // The same hops as `await tick(); await tick();` in an async function (nextTick, a microtask,
  // nextTick, a microtask), written with one promise: the driver settles after most agent events,
  // and the async version's four promises were a tenth of the heavy month's allocation.
  return new Promise<void>((resolve) => process.nextTick(() => queueMicrotask(() => process.nextTick(() => queueMicrotask(resolve)))));
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
  #callbacksInWindow = 0;
  /** Epoch ms at which the current counting window ends. */
  #windowEndMs = -Infinity;
  #callbacksMax: number;

  private constructor(originEpochMs: number, callbacksMax: number) {
    this.originEpochMs = originEpochMs;
    this.#callbacksMax = callbacksMax;
    this.#clock = this.#install(originEpochMs);
  }

  /** Installs the fake clock at `originEpochMs`. Only one simulation may hold the globals at a time. */
  static install(originEpochMs: number, callbacksMax = ZERO_DELAY_CALLBACKS_PER_WINDOW_MAX): SimClock {
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
    // No timer due by then: moving `now` is all a tick would do (it fires nothing, and the jobs it
    // runs are faked microtasks, which leaksim never fakes), without the tick's own bookkeeping,
    // which was a tenth of a run's allocation. `now` is the fake clock's documented current time;
    // test/sim/clock.test.ts holds the two ways to the same Date and performance.now.
    if (delta > 0 && this.nextTimerMs() > atMs) {
      this.#clock.now += delta;
      return;
    }
    this.#clock.tick(delta); // tick(0) fires what is due now: a zero-delay timer set outside a tick
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
    AbortSignal.timeout = realAbortSignalTimeout;
    if (installed === this) installed = undefined;
  }

  #install(nowEpochMs: number): InstalledClock {
    const clock = FakeTimers.install({ now: nowEpochMs, toFake: [...FAKED], loopLimit: FAKE_TIMERS_LOOP_LIMIT });
    for (const name of ['setTimeout', 'setInterval', 'setImmediate'] as const) this.#count(name);
    AbortSignal.timeout = simulatedAbortSignalTimeout;
    return clock;
  }

  /** Wraps a faked scheduler so that each callback of a zero-delay timer is counted against the rate limit. */
  #count(name: 'setTimeout' | 'setInterval' | 'setImmediate'): void {
    const faked = globalThis[name] as (callback: (...args: unknown[]) => void, ...rest: unknown[]) => unknown;
    const wrapped = (callback: (...args: unknown[]) => void, ...rest: unknown[]) => {
      if (name !== 'setImmediate' && Number(rest[0]) >= 1) return faked(callback, ...rest);
      return faked((...args: unknown[]) => {
        const nowEpochMs = this.#clock.now;
        if (nowEpochMs >= this.#windowEndMs) {
          this.#windowEndMs = nowEpochMs + RUNAWAY_WINDOW_MS;
          this.#callbacksInWindow = 0;
        }
        this.#callbacksInWindow += 1;
        if (this.#callbacksInWindow > this.#callbacksMax) throw new RunawayTimersError(this.nowMs, this.#callbacksMax);
        callback(...args);
      }, ...rest);
    };
    (globalThis as Record<string, unknown>)[name] = Object.assign(wrapped, faked);
  }
}
