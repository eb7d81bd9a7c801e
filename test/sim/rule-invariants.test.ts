/**
 * The reference's rules as simulator invariants: each one fails on a broken target in a real run
 * of the driver, says what it saw in the style of the others, and can be switched off.
 */
import { describe, expect, it } from 'vitest';
import type { SessionTarget, TargetFactory } from '../../src/contract.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { SHUTDOWN_WAIT_MAX_MS } from '../../sim/runs/driver.ts';
import { runScenario, type RunOptions } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { builtInTarget, resolveTarget, type NamedTarget } from '../../sim/targets/targets.ts';

function run(scenario: string, target: NamedTarget, options: Partial<RunOptions> = {}) {
  return runScenario(loadScenario(`scenarios/${scenario}.json`), { target, seed: 1, stop: 'never', ...options });
}

function flaw(name: string): NamedTarget {
  return builtInTarget(`flaw:${name}`)!;
}

/** The reference with one view or route replaced: a broken third-party target in miniature. */
function brokenReference(name: string, change: (target: SessionTarget) => Partial<SessionTarget>): NamedTarget {
  const factory: TargetFactory = (environment) => {
    const target = referenceTarget(environment);
    const changed = change(target);
    return new Proxy(target, { get: (object, key) => (key in changed ? changed[key as keyof SessionTarget] : bound(object, key)) });
  };
  return { name, factory, description: {} };
}

/** A member of `object`, methods bound to it (they use private fields, which a proxy lacks). */
function bound(object: object, key: string | symbol): unknown {
  const value: unknown = Reflect.get(object, key);
  return typeof value === 'function' ? value.bind(object) : value;
}

describe('eviction-order', () => {
  it('fails a target that evicts the most recently active idle session, naming the idler one', async () => {
    const outcome = await run('burst-at-cap', flaw('evicts-latest-idle'), { stop: 'first-violation' });
    expect(outcome.firstViolation?.invariant).toBe('eviction-order');
    expect(outcome.firstViolation?.detail).toMatch(/^session \d+ was evicted after \d+ ms idle, but session \d+ had been idle longer \([\d.]+ s\) and should have gone first$/);
  });
});

describe('requeued-first', () => {
  it('fails a target that puts a crashed generator\'s message at the back of the queue', async () => {
    const outcome = await run('crashing-generators', flaw('requeue-at-back'), { days: 1, stop: 'first-violation' });
    expect(outcome.firstViolation?.invariant).toBe('requeued-first');
    expect(outcome.firstViolation?.detail).toMatch(/^message (\d+) of session \d+ reached the agent before message \d+, which a generator handed back earlier/);
  });
});

describe('restart-after-delay', () => {
  it('fails a target that restarts a crashed generator at once', async () => {
    const outcome = await run('crashing-generators', flaw('restart-without-delay'), { days: 1, stop: 'first-violation' });
    expect(outcome.firstViolation?.invariant).toBe('restart-after-delay');
    expect(outcome.firstViolation?.detail).toMatch(/^session \d+'s generator was restarted 0 ms after it stopped, before the restart delay of 1\.0 s, with no new work for it$/);
  });
});

describe('watchdog-not-early', () => {
  it('fails a target whose watchdog aborts a generator that is still working', async () => {
    const outcome = await run('marathon-session', flaw('watchdog-from-start'), { stop: 'first-violation' });
    expect(outcome.firstViolation?.invariant).toBe('watchdog-not-early');
    expect(outcome.firstViolation?.detail).toMatch(/^session 1's generator was aborted [\d.]+ s after its last activity, within the idle timeout of 5\.0 min, while the session stayed in memory$/);
  });
});

describe('no-orphan-reply', () => {
  it('fails a target whose trim leaves a reply first after the pinned prompt', async () => {
    const outcome = await run('marathon-session', flaw('trim-leaves-orphan-reply'), { stop: 'first-violation' });
    expect(outcome.firstViolation?.invariant).toBe('no-orphan-reply');
    expect(outcome.firstViolation?.detail).toBe("session 1's history has a reply right after its pinned prompt: the prompt it answered was trimmed and the reply kept");
  });
});

describe('stats-agree', () => {
  it('fails a target that does not count expirations', async () => {
    const outcome = await run('resume-after-ttl', flaw('expirations-uncounted'), { days: 1, stop: 'first-violation' });
    expect(outcome.firstViolation?.invariant).toBe('stats-agree');
    expect(outcome.firstViolation?.detail).toMatch(/^stats\(\) says expirations 0, but \d+ expirations reported to the observer since the worker started$/);
  });

  it('fails a target whose generator and history counters are stale, naming each counter', async () => {
    const stale = brokenReference('stale-stats', (target) => ({ stats: () => ({ ...target.stats(), generatorsRunning: 0, historyChars: 0 }) }));
    const outcome = await run('steady-week', stale, { days: 1, stop: 'first-violation' });
    expect(outcome.firstViolation?.invariant).toBe('stats-agree');
    expect(outcome.firstViolation?.detail).toMatch(/^stats\(\) says (generatorsRunning 0, but \d+ generators the agent is running; )?historyChars 0, but \d+ characters in the sessions' history views$/);
  });
});

describe('shutdown-waits', () => {
  it('fails a target whose shutdown resolves before its generators have ended', async () => {
    const outcome = await run('shutdown-slow-generators', flaw('shutdown-does-not-wait'), { stop: 'verdict' });
    expect(outcome.asExpected).toBe(true);
    expect(outcome.firstViolation?.invariant).toBe('shutdown-waits');
    expect(outcome.firstViolation?.detail).toMatch(/^shutdown resolved while \d+ generators were still running \(sessions [\d, …]+\)$/);
  });

  it('passes the reference, which waits for generators that take two seconds to end', async () => {
    const outcome = await run('shutdown-slow-generators', builtInTarget('reference')!);
    expect(outcome.verdict).toBe('pass');
    expect(outcome.result!.endMs).toBeGreaterThan(outcome.result!.samples.at(-2)!.atMs);
  });

  it('fails a target whose shutdown never resolves, after the wait limit, instead of hanging', async () => {
    const stuck = brokenReference('stuck-shutdown', (target) => ({ shutdown: () => target.shutdown().then(() => new Promise<void>(() => {})) }));
    const outcome = await run('shutdown-busy', stuck, { days: 1 });
    expect(outcome.result!.violations.map((violation) => violation.invariant)).toEqual(['shutdown-waits']);
    expect(outcome.firstViolation?.detail).toBe(`shutdown had not resolved ${SHUTDOWN_WAIT_MAX_MS / 60_000}.0 min after it began`);
  });

  it('fails a target that leaves claimed work in flight after shutdown', async () => {
    // Stops requeueing the claimed work of the generators that shutdown aborts.
    const forgetful: NamedTarget = {
      name: 'forgetful',
      factory: (environment) => referenceTarget({ ...environment, store: new Proxy(environment.store, { get: (store, key) => (key === 'requeueInFlight' ? () => 0 : bound(store, key)) }) }),
      description: {},
    };
    const outcome = await run('shutdown-slow-generators', forgetful, { stop: 'never' });
    const details = outcome.result!.violations.filter((violation) => violation.invariant === 'shutdown-waits').map((violation) => violation.detail);
    expect(details).toEqual([expect.stringMatching(/^after shutdown, \d+ messages are left in flight: claimed, neither acknowledged nor returned to the queue$/)]);
  });
});

describe('a target declaration', () => {
  it('switches an invariant off: it is neither judged nor reported', async () => {
    const mutant = flaw('evicts-latest-idle');
    expect((await run('burst-at-cap', mutant)).result!.violationCounts['eviction-order']).toBeGreaterThan(0);
    // Evicting by its own rule, it follows the model except in which sessions it holds: it does not declare that part.
    const declared = { ...mutant, description: { ...mutant.description, followsModel: ['expiry', 'history', 'queue', 'generators', 'counters', 'resources'] as const, invariantsOff: { 'eviction-order': 'evicts by its own rule' } } };
    const outcome = await run('burst-at-cap', declared);
    expect(outcome.verdict).toBe('pass');
    expect(outcome.declarations.invariantsOff).toEqual({ 'eviction-order': 'evicts by its own rule' });
  });
});

describe('the example adapter', () => {
  it('passes every rule invariant on crashing generators: its watchdog aborts hung ones no earlier than the idle timeout, restarts wait the delay, requeued work comes first', async () => {
    const adapter = await resolveTarget('examples/adapter.ts');
    const outcome = await run('crashing-generators', adapter, { days: 1 });
    expect(Object.keys(outcome.result!.violationCounts)).toEqual([]);
  });
});
