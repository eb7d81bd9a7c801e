/**
 * A guard around a user's adapter (user code): whatever it does, the run ends in a verdict and one
 * line, never a stack trace, a hang or a pass it did not earn.
 *
 * - `createTarget` that throws, or returns something that is not a target: a TargetCodeError.
 * - A route or view that throws (anything but the contract's SessionLimitError): a TargetCodeError
 *   naming the route; the driver's exception ends the run, and runScenario turns it into an error.
 * - A promise a route returned that rejects: recorded here (the driver may not await it: shutdown
 *   and completeSession are fire-and-forget), and the run's verdict becomes an error.
 * - A promise that never settles (shutdown, completeSession, deleteSession): still pending when
 *   the run reached its end, a simulated-time limit (the quiet phase after the last event waits out
 *   the TTL, the idle timeout and an hour more), so the verdict is an error, never a pass.
 * - A route that never returns (a synchronous endless loop): the guard marks entry and exit in a
 *   shared counter that a watchdog in another thread reads (sim/isolated-run.ts).
 *
 * Only adapters are guarded: the built-in targets are leaksim's own code and run unwrapped, so their
 * trace hashes and speed are untouched. The guard observes; it never changes what a call returns,
 * so a guarded target gives the same trace as an unguarded one.
 */
import type { SessionTarget, TargetEnvironment, TargetFactory } from '../../src/contract.ts';

/** Thrown in place of an error from the adapter's code: names the call, keeps the message. */
export class TargetCodeError extends Error {
  readonly call: string;
  constructor(call: string, problem: string) {
    super(`${call} ${problem}`);
    this.name = 'TargetCodeError';
    this.call = call;
  }
}

/** Slots of the shared watch array: a counter bumped at every entry and exit, and the call in progress (0: none). */
export const WATCH_PROGRESS = 0;
export const WATCH_CALL = 1;
export const WATCH_SLOTS = 2;

/** Target methods, numbered for the watch array (index + 1). */
export const TARGET_METHODS = [
  'createTarget',
  'start',
  'initializeSession',
  'queueObservation',
  'queueSummarize',
  'deleteSession',
  'completeSession',
  'shutdown',
  'session',
  'history',
  'stats',
  'sessionCount',
  'countListeners',
] as const;

const REQUIRED_METHODS = TARGET_METHODS.filter((name) => name !== 'createTarget');

/** The first failure of the adapter's code in a run: which call, and the phrase that says what it did. */
export interface GuardFailure {
  /** The call as named in the message: `createTarget`, `shutdown()`, `queueObservation({ … })`. */
  readonly call: string;
  readonly message: string;
}

interface PendingCall {
  readonly call: string;
}

export class TargetGuard {
  readonly #watch: Int32Array | undefined;
  #failure: GuardFailure | undefined;
  readonly #pending = new Set<PendingCall>();

  constructor(watch?: Int32Array) {
    this.#watch = watch;
  }

  /** Forget the previous run's findings: one guard serves each run of its target in turn. */
  begin(): void {
    this.#failure = undefined;
    this.#pending.clear();
  }

  /** The first failure of the adapter's code in this run, as a phrase ("queueObservation threw TypeError: x"). */
  get failure(): string | undefined {
    return this.#failure?.message;
  }

  /** The first failure with the call it came from. */
  get failureDetail(): GuardFailure | undefined {
    return this.#failure;
  }

  /** Calls whose promise had not settled when asked: the first one, named. */
  unsettled(): string | undefined {
    for (const pending of this.#pending) return pending.call;
    return undefined;
  }

  wrap(factory: TargetFactory): TargetFactory {
    return (environment: TargetEnvironment) => {
      const target = this.#call('createTarget', () => factory(environment));
      if (target === null || typeof target !== 'object') throw this.#fail('createTarget', `returned ${target === null ? 'null' : typeof target}, expected a SessionTarget object`);
      for (const method of REQUIRED_METHODS) {
        if (typeof (target as unknown as Record<string, unknown>)[method] !== 'function') throw this.#fail('createTarget', `returned a target without ${method}()`);
      }
      return this.#guarded(target);
    };
  }

  #guarded(target: SessionTarget): SessionTarget {
    const wrapped = new Map<PropertyKey, unknown>();
    return new Proxy(target, {
      get: (object, key, receiver) => {
        const value = Reflect.get(object, key, receiver);
        if (typeof value !== 'function' || !(REQUIRED_METHODS as readonly PropertyKey[]).includes(key)) return value;
        let guarded = wrapped.get(key);
        if (!guarded) {
          const name = String(key);
          guarded = (...args: unknown[]) => {
            const call = `${name}(${args.map(argumentText).join(', ')})`;
            const result = this.#call(name, () => (value as (...a: unknown[]) => unknown).apply(object, args), call);
            if (isThenable(result)) this.#track(call, result);
            return result;
          };
          wrapped.set(key, guarded);
        }
        return guarded;
      },
    });
  }

  #call<T>(name: string, body: () => T, call = name): T {
    this.#enter(name);
    try {
      return body();
    } catch (error) {
      if (isSessionLimit(error)) throw error;
      throw this.#fail(call, `threw ${errorText(error)}`);
    } finally {
      this.#leave();
    }
  }

  /** Watches a returned promise without changing it: attaching a handler also keeps a rejection from crashing the process. */
  #track(call: string, promise: PromiseLike<unknown>): void {
    const pending = { call };
    this.#pending.add(pending);
    promise.then(
      () => void this.#pending.delete(pending),
      (error: unknown) => {
        this.#pending.delete(pending);
        if (!isSessionLimit(error)) this.#fail(call, `rejected with ${errorText(error)}`);
      },
    );
  }

  #fail(call: string, problem: string): TargetCodeError {
    const error = new TargetCodeError(call, problem);
    this.#failure ??= { call, message: error.message };
    return error;
  }

  #enter(name: string): void {
    if (!this.#watch) return;
    Atomics.store(this.#watch, WATCH_CALL, TARGET_METHODS.indexOf(name as (typeof TARGET_METHODS)[number]) + 1);
    Atomics.add(this.#watch, WATCH_PROGRESS, 1);
  }

  #leave(): void {
    if (!this.#watch) return;
    Atomics.store(this.#watch, WATCH_CALL, 0);
    Atomics.add(this.#watch, WATCH_PROGRESS, 1);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function isSessionLimit(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'LEAKSIM_SESSION_LIMIT';
}

/** "TypeError: boom", on one line, cut short. */
export function errorText(error: unknown): string {
  const text = describeThrown(error);
  // One line, without the terminal colours and box drawing some compilers put in their messages.
  const line = text.replace(/\x1b\[[0-9;]*m/g, '').replace(/[─-╿]+/g, ' ').replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/**
 * What was thrown, without ever throwing itself: user code may throw or reject with a value whose
 * String() throws (Object.create(null), a Proxy, an object with a throwing toString) or an Error
 * whose name or message getters throw. Such a value still gets a name.
 */
function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) return `${String(error.name)}: ${String(error.message)}`;
  } catch {
    return 'an Error whose name or message cannot be read';
  }
  try {
    return `a non-error value ${String(error)}`;
  } catch {
    return `a non-error value that cannot be turned into text (${error === null ? 'null' : typeof error}${typeof error === 'object' && error !== null && Object.getPrototypeOf(error) === null ? ' without a prototype' : ''})`;
  }
}

function argumentText(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 17)}...` : value);
  if (value && typeof value === 'object' && 'contentSessionId' in value) return `{ contentSessionId: ${JSON.stringify((value as { contentSessionId: unknown }).contentSessionId)}, … }`;
  return '…';
}
