import * as FakeTimers from '@sinonjs/fake-timers';

export type FakeClock = ReturnType<ReturnType<typeof FakeTimers.withGlobal>['install']>;

/** What the simulator fakes too: timers, Date and performance; nextTick and queueMicrotask stay real. */
const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance'] as const;

/** Installs a real @sinonjs/fake-timers clock on the globals at `nowEpochMs`. Uninstall it in a finally. */
export function installFakeClock(nowEpochMs: number): FakeClock {
  return FakeTimers.withGlobal(globalThis).install({ now: nowEpochMs, toFake: [...FAKED], loopLimit: 10_000 });
}
