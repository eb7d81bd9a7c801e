/**
 * The reference's rules, one named check each, written against the target contract so that the
 * same check runs against the reference, the leaky twin (no flaw on: must pass too) and every
 * flaw (each must break at least one): see rules.test.ts and flaw-table.test.ts.
 *
 * A check throws an AssertionError saying what it saw; it returns normally when the rule held.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { SessionLimitError, type SynchronousTargetFactory } from '../../src/contract.ts';
import { estimateTokens } from '../../src/history.ts';
import { inWorld, settle, type World } from '../helpers/manual.ts';

export interface RuleCheck {
  readonly name: string;
  /** The rule as docs/reference.md states it. */
  readonly rule: string;
  readonly check: (factory: SynchronousTargetFactory) => Promise<void>;
}

const MINUTE = 60_000;
const TTL = 10 * MINUTE;
/** Sessions held at once by one-listener-whatever-the-sessions: the size of a large organisation's shared worker. */
const LISTENER_RULE_SESSIONS = 100_000;

function assertAccounted(world: World): void {
  const accounting = world.store.accounting();
  assert.equal(world.store.unaccounted(), 0, `queue accounting does not balance: ${JSON.stringify(accounting)}`);
  assert.equal(accounting.droppedByEviction, 0, `pending work was dropped by eviction or expiry: ${JSON.stringify(accounting)}`);
}

function assertHistoriesBounded(world: World, sessionDbId: number, initPrompt: string): void {
  const history = world.target.history(sessionDbId);
  assert.ok(history, `session ${sessionDbId} has no history`);
  const tokens = history.reduce((sum, message) => sum + estimateTokens(message.content), 0);
  assert.ok(history.length <= world.settings.maxHistoryMessages, `history holds ${history.length} messages, more than ${world.settings.maxHistoryMessages}`);
  assert.ok(tokens <= world.settings.maxHistoryTokens, `history holds ${tokens} tokens, more than ${world.settings.maxHistoryTokens}`);
  assert.equal(history[0]?.content, initPrompt, 'the init prompt is no longer the first message');
}

function assertNoOrphan(history: readonly { role: string }[], when: string): void {
  assert.notEqual(history[1]?.role, 'assistant', `${when} the history reads ${history.map((message) => message.role).join(', ')}: a reply without its prompt`);
}

export const RULES: readonly RuleCheck[] = [
  {
    name: 'idle-expires-after-ttl',
    rule: 'An idle session is removed once it has been idle for the TTL, and leaves no timer or listener behind.',
    check: (factory) =>
      inWorld(factory, { ttlMs: TTL }, async (world) => {
        const id = world.prompt('a');
        await world.complete(id);
        await world.advance(TTL - 1);
        assert.ok(world.target.session(id), 'expired before its TTL');
        await world.advance(1);
        assert.equal(world.target.session(id), undefined, 'still in memory a TTL after it went idle');
        assert.equal(world.reasonFor(id), 'expired');
        assert.equal(world.timers(), 0, 'a timer is left with no session');
        assert.equal(world.target.countListeners(), 0, 'a listener is left with no session');
      }),
  },
  {
    name: 'new-work-cancels-cleanup',
    rule: 'New work cancels the cleanup scheduled when the generator finished; the TTL counts from the latest idle moment.',
    check: (factory) =>
      inWorld(factory, { ttlMs: TTL }, async (world) => {
        const id = world.prompt('a');
        await world.complete(id);
        await world.advance(TTL / 2);
        world.observe('a');
        await world.complete(id);
        await world.advance(TTL / 2 + MINUTE);
        assert.ok(world.target.session(id), 'removed a TTL after the first idle period although new work came since');
        await world.advance(TTL / 2 - MINUTE);
        assert.equal(world.reasonFor(id), 'expired', 'not removed a TTL after its latest idle moment');
      }),
  },
  {
    name: 'busy-never-expires',
    rule: 'A session whose generator runs or which has pending messages is never expired, however long it works.',
    check: (factory) =>
      inWorld(factory, { ttlMs: TTL }, async (world) => {
        const id = world.prompt('a');
        for (let minute = 0; minute < 3 * TTL; minute += MINUTE) {
          world.run(id).context.append({ role: 'assistant', content: 'streaming' });
          await world.advance(MINUTE);
        }
        assert.ok(world.target.session(id), 'a working session was removed');
        assert.deepEqual(world.removals, []);
      }),
  },
  {
    name: 'history-bounded',
    rule: 'Every append leaves the history within maxHistoryMessages and maxHistoryTokens.',
    check: (factory) =>
      inWorld(factory, { maxHistoryMessages: 6, maxHistoryTokens: 1_000 }, async (world) => {
        const id = world.prompt('a', 'init prompt');
        await world.complete(id);
        for (let turn = 0; turn < 40; turn += 1) {
          world.prompt('a', `prompt ${turn} `.padEnd(400, '.'));
          world.observe('a', `observation ${turn} `.padEnd(800, '.'));
          const run = world.run(id);
          run.drain();
          const history = world.target.history(id)!;
          assert.ok(history.length <= 6, `history holds ${history.length} messages after turn ${turn}, more than 6`);
          const tokens = history.reduce((sum, message) => sum + estimateTokens(message.content), 0);
          assert.ok(tokens <= 1_000, `history holds ${tokens} tokens after turn ${turn}, more than 1,000`);
          run.finish();
          await settle();
        }
      }),
  },
  {
    name: 'init-prompt-pinned',
    rule: 'Trimming never removes the init prompt: it stays the first message.',
    check: (factory) =>
      inWorld(factory, { maxHistoryMessages: 5, maxHistoryTokens: 10_000 }, async (world) => {
        const id = world.prompt('a', 'the init prompt');
        for (let turn = 0; turn < 10; turn += 1) {
          world.observe('a', `observation ${turn}`);
          world.run(id).drain();
        }
        assertHistoriesBounded(world, id, 'the init prompt');
      }),
  },
  {
    name: 'cap-evicts-idlest',
    rule: 'Creating a session at the cap evicts the least recently active idle session; the cap is never exceeded.',
    check: (factory) =>
      inWorld(factory, { maxActiveSessions: 3, ttlMs: TTL }, async (world) => {
        const a = world.prompt('a');
        await world.complete(a);
        await world.advance(MINUTE);
        const b = world.prompt('b');
        await world.complete(b);
        await world.advance(MINUTE);
        const c = world.prompt('c');
        await world.complete(c);
        await world.advance(MINUTE);
        world.observe('a'); // a is the most recently active now
        await world.complete(a);
        const d = world.prompt('d');
        assert.equal(world.target.sessionCount(), 3, `${world.target.sessionCount()} sessions in memory with a cap of 3`);
        assert.equal(world.reasonFor(b), 'evicted', 'the least recently active idle session (b) was not the one evicted');
        for (const id of [a, c, d]) assert.ok(world.target.session(id), `session ${id} was removed instead`);
        assertAccounted(world);
      }),
  },
  {
    name: 'busy-never-evicted',
    rule: 'When every session is busy, a new one is refused with SessionLimitError and counted; no busy session is evicted.',
    check: (factory) =>
      inWorld(factory, { maxActiveSessions: 2 }, async (world) => {
        const a = world.prompt('a');
        const b = world.prompt('b');
        world.observe('a');
        assert.throws(() => world.prompt('c'), SessionLimitError, 'a third session was accepted while both were busy');
        assert.equal(world.target.stats().refusedSessions, 1, 'the refusal was not counted');
        assert.equal(world.target.sessionCount(), 2);
        assert.deepEqual(world.removals, [], 'a busy session was removed to make room');
        assert.ok(world.target.session(a) && world.target.session(b));
        assertAccounted(world);
      }),
  },
  {
    name: 'one-generator-per-session',
    rule: 'A session never has more than one generator running; new prompts and work go to the running one.',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        for (let step = 0; step < 3; step += 1) {
          world.observe('a');
          world.prompt('a', `prompt ${step}`);
          world.summarize('a');
          assert.equal(world.agent.runsFor(id).length, 1, `${world.agent.runsFor(id).length} generators running for one session`);
        }
      }),
  },
  {
    name: 'crash-requeues-claimed-work',
    rule: "A crashed generator's claimed messages go back to the queue and are processed by its restart; nothing is lost.",
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        world.observe('a');
        world.observe('a');
        world.run(id).crash(); // dies with the first message in flight
        await world.advance(world.settings.generatorRestartDelayMs);
        const restarted = world.run(id);
        assert.equal(restarted.drain(), 2, 'the restarted generator did not get both messages back');
        restarted.finish();
        await settle();
        assert.equal(world.store.processedCount, 2);
        assertAccounted(world);
      }),
  },
  {
    name: 'hung-generator-aborted',
    rule: 'A generator silent for generatorIdleTimeoutMs is aborted, and its pending work restarted.',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        world.observe('a');
        const hung = world.run(id);
        await world.advance(world.settings.generatorIdleTimeoutMs);
        assert.equal(hung.outcome, 'aborted', 'a silent generator was left running');
        await world.advance(world.settings.generatorRestartDelayMs);
        assert.equal(world.run(id).drain(), 1, 'the pending observation was not restarted');
      }),
  },
  {
    name: 'delete-releases-everything',
    rule: "Deleting a session aborts its generator, waits for it, and releases its queue, listener and timers; the drop is counted.",
    check: (factory) =>
      inWorld(factory, { ttlMs: TTL }, async (world) => {
        world.agent.abortLag = 'tick'; // so that "waits for it" can be told apart from "aborted it"
        const busy = world.prompt('busy');
        world.observe('busy');
        world.observe('busy');
        const run = world.run(busy);
        run.send();
        const idle = world.prompt('idle');
        await world.complete(idle);
        const deleting = world.target.deleteSession(busy);
        assert.equal(world.target.session(busy), undefined, 'still visible once delete began');
        await deleting;
        assert.equal(run.outcome, 'aborted', 'delete returned before its generator ended');
        assert.equal(world.store.accounting().droppedByDelete, 2);
        assert.equal(world.target.countListeners(), 1, `${world.target.countListeners()} listeners held for one session`);
        assert.equal(await world.target.deleteSession(idle), true);
        assert.equal(world.target.countListeners(), 0, 'a deleted session left its listener behind');
        assert.equal(world.timers(), 0, 'a deleted session left a timer behind');
        assert.equal(await world.target.deleteSession(idle), false, 'deleting twice reported success');
        assertAccounted(world);
      }),
  },
  {
    name: 'shutdown-releases-everything',
    rule: 'Shutdown aborts every generator and waits for it; afterwards no session, timer or listener remains.',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const hung = world.run(world.prompt('hung'));
        const idle = world.prompt('idle');
        await world.complete(idle);
        const crashed = world.prompt('crashed');
        world.observe('crashed');
        world.run(crashed).crash(); // a restart is due in a second
        await settle();
        await world.target.shutdown();
        assert.equal(world.agent.live.size, 0, 'a generator still runs after shutdown');
        assert.equal(hung.outcome, 'aborted');
        assert.equal(world.target.sessionCount(), 0);
        assert.equal(world.timers(), 0, `${world.timers()} timers left after shutdown`);
        assert.equal(world.target.countListeners(), 0, 'listeners left after shutdown');
        assert.deepEqual(world.removals.map((removal) => removal.reason), ['shutdown', 'shutdown', 'shutdown']);
      }),
  },
  {
    name: 'shutdown-waits-for-generators',
    rule: 'Shutdown resolves only once every generator has ended, even one that takes seconds to stop after its abort, starts none meanwhile, and leaves no message in flight.',
    check: async (factory) => {
      for (const lag of ['tick', { ms: 2_000 }] as const) {
        await inWorld(factory, {}, async (world) => {
          world.agent.abortLag = lag;
          const shown = lag === 'tick' ? 'a tick' : `${lag.ms} ms`;
          const busy = world.prompt('busy');
          world.observe('busy');
          world.run(busy).send(); // in flight when the shutdown comes
          const crashed = world.prompt('crashed');
          world.observe('crashed');
          world.run(crashed).crash(); // a restart is due in a second, while shutdown waits
          await settle();
          let atResolve: { live: number; inFlight: number } | undefined;
          const shutdown = world.target.shutdown().then(() => {
            atResolve = { live: world.agent.live.size, inFlight: world.store.accounting().inFlight };
          });
          await world.advance(lag === 'tick' ? 0 : lag.ms);
          await shutdown;
          assert.ok(atResolve, 'shutdown never resolved');
          assert.equal(atResolve.live, 0, `shutdown resolved while ${atResolve.live} generators were still running (they end ${shown} after their abort)`);
          assert.equal(atResolve.inFlight, 0, `shutdown left ${atResolve.inFlight} messages in flight`);
          await world.advance(world.settings.generatorRestartDelayMs);
          assert.equal(world.agent.live.size, 0, 'a generator was started after shutdown began');
          assert.equal(world.timers(), 0, `${world.timers()} timers left after shutdown`);
        });
      }
    },
  },
  {
    name: 'requeued-work-first',
    rule: "A crashed generator's claimed message goes back to the front of the queue: its restart processes it before younger work.",
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        world.observe('a');
        world.observe('a');
        world.run(id).crash(); // dies with the first message in flight
        await settle();
        world.observe('a');
        await world.advance(world.settings.generatorRestartDelayMs);
        const restarted = world.run(id);
        const order: number[] = [];
        for (let message = restarted.send(); message; message = restarted.send()) {
          order.push(message.id);
          restarted.reply(message);
        }
        assert.deepEqual(order, [...order].sort((a, b) => a - b), `messages reached the restarted generator in the order ${order.join(', ')}`);
        assert.equal(order.length, 3);
      }),
  },
  {
    name: 'restart-after-delay',
    rule: 'A crashed generator with work pending is restarted after generatorRestartDelayMs, not before.',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        world.observe('a');
        world.run(id).crash();
        await settle();
        assert.equal(world.agent.runsFor(id).length, 0, 'restarted at once');
        await world.advance(world.settings.generatorRestartDelayMs - 1);
        assert.equal(world.agent.runsFor(id).length, 0, `restarted before the delay of ${world.settings.generatorRestartDelayMs} ms`);
        await world.advance(1);
        assert.equal(world.agent.runsFor(id).length, 1, 'not restarted once the delay passed');
      }),
  },
  {
    name: 'watchdog-spares-active-generator',
    rule: 'A generator that keeps working is never aborted by the watchdog, however long it works.',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        const run = world.run(id);
        for (let minute = 0; minute < 3 * world.settings.generatorIdleTimeoutMs; minute += MINUTE) {
          world.observe('a');
          run.step();
          await world.advance(MINUTE);
          assert.ok(run.live, `a generator working every minute was aborted after ${minute / MINUTE + 1} minutes`);
        }
      }),
  },
  {
    name: 'no-orphan-reply-after-trim',
    rule: 'After a trim, the first message after the pinned prompt is never a reply whose prompt was trimmed.',
    check: (factory) =>
      inWorld(factory, { maxHistoryMessages: 5, maxHistoryTokens: 10_000 }, async (world) => {
        const id = world.prompt('a', 'the init prompt');
        const run = world.run(id);
        for (let turn = 0; turn < 10; turn += 1) {
          world.observe('a', `observation ${turn}`);
          const message = run.send()!;
          assertNoOrphan(world.target.history(id)!, `after prompt ${turn}`);
          run.reply(message);
          assertNoOrphan(world.target.history(id)!, `after reply ${turn}`);
        }
      }),
  },
  {
    name: 'stats-count-what-happened',
    rule: 'stats() counts what happened: sessions, generators running, history totals, refusals, evictions and expirations.',
    check: (factory) =>
      inWorld(factory, { maxActiveSessions: 2, ttlMs: TTL }, async (world) => {
        const expiring = world.prompt('expiring');
        await world.complete(expiring);
        await world.advance(TTL);
        const idle = world.prompt('idle');
        await world.complete(idle);
        const busy = world.prompt('busy');
        world.prompt('newcomer'); // evicts idle
        assert.throws(() => world.prompt('refused'), SessionLimitError);
        const stats = world.target.stats();
        const histories = [busy, world.store.lookup('newcomer')!.sessionDbId].map((id) => world.target.history(id)!);
        const expected = {
          activeSessions: 2,
          generatorsRunning: world.agent.live.size,
          historyMessages: histories.reduce((sum, history) => sum + history.length, 0),
          historyChars: histories.reduce((sum, history) => sum + history.reduce((chars, message) => chars + message.content.length, 0), 0),
          refusedSessions: 1,
          evictions: 1,
          expirations: 1,
        };
        const reported = Object.fromEntries(Object.keys(expected).map((key) => [key, stats[key as keyof typeof stats]]));
        assert.deepEqual(reported, expected, `stats() disagrees with what happened: ${JSON.stringify(reported)}`);
        assert.deepEqual(world.removals.map((removal) => removal.reason), ['expired', 'evicted']);
      }),
  },
  {
    name: 'restart-recovers-claimed-work',
    rule: 'After a worker restart, messages that were in flight are queued again and processed; nothing is lost.',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        world.observe('a');
        world.observe('a');
        world.run(id).send();
        await world.restartWorker();
        assert.equal(world.run(id).drain(), 2, 'the restarted worker did not get both messages back');
        assertAccounted(world);
      }),
  },
  {
    name: 'restart-resumes-in-flight-work',
    rule: 'After a worker restart, a session whose only pending message was in flight is resumed at once, like one with queued messages.',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        const id = world.prompt('a');
        world.observe('a');
        world.run(id).send();
        await world.restartWorker();
        assert.ok(world.target.session(id), 'the session with a message in flight was not resumed');
        assert.equal(world.agent.runsFor(id).length, 1, 'no generator was started for the message that was in flight');
      }),
  },
  {
    name: 'history-keeps-what-the-bound-allows',
    rule: 'Trimming removes only what the bounds require: a history of prompt and reply pairs holds exactly maxHistoryMessages messages once full.',
    check: (factory) =>
      inWorld(factory, { maxHistoryMessages: 7, maxHistoryTokens: 100_000 }, async (world) => {
        const id = world.prompt('a', 'the init prompt');
        for (let turn = 0; turn < 8; turn += 1) {
          world.observe('a', `observation ${turn}`);
          world.run(id).drain();
          const held = world.target.session(id)!.historyMessages;
          if (turn >= 2) assert.equal(held, 7, `after ${turn + 1} prompt and reply pairs the history holds ${held} messages; the bound of 7 allows 7`);
        }
      }),
  },
  {
    name: 'history-tokens-exact',
    rule: "A history's token count is always the sum of its messages' estimated tokens, however much was trimmed.",
    check: (factory) =>
      inWorld(factory, { maxHistoryMessages: 5, maxHistoryTokens: 100_000 }, async (world) => {
        const id = world.prompt('a', 'the init prompt');
        for (let turn = 0; turn < 12; turn += 1) {
          world.observe('a', `observation ${turn} `.padEnd(41 + turn, '.'));
          world.run(id).drain();
          const history = world.target.history(id)!;
          const tokens = history.reduce((sum, message) => sum + estimateTokens(message.content), 0);
          const counted = world.target.session(id)!.historyTokens;
          assert.equal(counted, tokens, `after turn ${turn + 1} the history counts ${counted} tokens, but its messages hold ${tokens}`);
        }
      }),
  },
  {
    name: 'earlier-deadline-expires-on-time',
    rule: 'An idle session expires on time even when its deadline falls before every other one armed (a TTL shorter than the generator idle timeout).',
    check: (factory) =>
      inWorld(factory, { ttlMs: 2 * MINUTE, generatorIdleTimeoutMs: 10 * MINUTE }, async (world) => {
        world.prompt('busy');
        world.observe('busy');
        const id = world.prompt('idle');
        await world.complete(id);
        await world.advance(2 * MINUTE);
        assert.equal(world.reasonFor(id), 'expired', 'an idle session with the earliest deadline was not expired at its TTL');
      }),
  },
  {
    name: 'fresh-signal-per-run',
    rule: 'A generator run never gets a signal that carries a listener a previous run left behind (an agent that leaves one per run gets a fresh signal every run).',
    check: (factory) =>
      inWorld(factory, {}, async (world) => {
        world.agent.leavesAbortListener = true;
        const id = world.prompt('a');
        const signals = new Set<AbortSignal>();
        for (let step = 0; step < 3; step += 1) {
          world.observe('a');
          const run = world.run(id);
          signals.add(run.context.signal);
          run.drain();
          run.finish();
          await settle();
        }
        assert.equal(signals.size, 3, `3 generator runs shared ${4 - signals.size === 1 ? 'one signal' : `${signals.size} signals`}`);
      }),
  },
];

/** Cost rules: how the reference meets the rules, not what a user sees. Checked on the reference only. */
export const COST_RULES: readonly RuleCheck[] = [
  {
    name: 'one-timer-whatever-the-sessions',
    rule: 'The manager holds at most one timer, however many sessions are idle, working or restarting.',
    check: (factory) =>
      inWorld(factory, { maxActiveSessions: 200, ttlMs: TTL }, async (world) => {
        for (let index = 0; index < 50; index += 1) {
          await world.complete(world.prompt(`idle-${index}`));
          await world.advance(1_000);
        }
        for (let index = 0; index < 50; index += 1) world.observe(`idle-${index}`); // busy again: watchdogs
        for (let index = 0; index < 50; index += 1) world.run(world.store.lookup(`idle-${index}`)!.sessionDbId).crash();
        await settle();
        assert.equal(world.target.sessionCount(), 50);
        assert.ok(world.timers() <= 1, `${world.timers()} timers for 50 sessions`);
      }),
  },
  {
    name: 'one-listener-whatever-the-sessions',
    rule: "The manager holds at most one listener on the worker's lifetime signal, however many sessions it holds, and it still aborts every generator at shutdown.",
    check: (factory) =>
      inWorld(factory, { maxActiveSessions: LISTENER_RULE_SESSIONS }, async (world) => {
        // Ground truth from outside the target too: Node warns (MaxListenersExceededWarning) once a
        // signal passes 10 listeners of a kind, unless the target raised the limit.
        const warnings: string[] = [];
        const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
        process.on('warning', onWarning);
        try {
          // Counted at every power of ten, so that a target that registers per session fails early.
          for (let sessions = 1; sessions <= LISTENER_RULE_SESSIONS; sessions += 1) {
            world.prompt(`s-${sessions}`);
            if (10 ** Math.round(Math.log10(sessions)) !== sessions) continue;
            const held = world.target.countListeners();
            assert.ok(held <= 1, `${held.toLocaleString('en-US')} listeners held for ${sessions.toLocaleString('en-US')} sessions`);
          }
          assert.equal(world.target.sessionCount(), LISTENER_RULE_SESSIONS);
          const run = world.run(1);
          assert.equal(getEventListeners(run.context.signal, 'abort').length, 1, "a generator's signal holds more than the agent's own listener");
          await world.target.deleteSession(1);
          assert.ok(world.target.countListeners() <= 1, `${world.target.countListeners()} listeners after one delete`);
          await settle();
          assert.deepEqual(warnings.filter((text) => text.startsWith('MaxListenersExceededWarning')), []);
          await world.target.shutdown();
          assert.equal(world.agent.live.size, 0, `${world.agent.live.size} generators still run after shutdown`);
          assert.equal(world.target.countListeners(), 0, 'a listener is left after shutdown');
        } finally {
          process.off('warning', onWarning);
        }
      }),
  },
];
