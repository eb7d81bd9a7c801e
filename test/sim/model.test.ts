/**
 * The executable model (sim/check/model.ts) and matches-model: the model's stories, the opt-in by
 * declaration, and the gate catching the twin flaws that keep every bound, where matches-model is
 * the only invariant that fails.
 */
import { describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import type { FlawName } from '../../src/baseline/flaws.ts';
import type { TargetDescription } from '../../src/contract.ts';
import { DEFAULT_SETTINGS } from '../../src/settings.ts';
import { RetentionModel } from '../../sim/check/model.ts';
import { runScenario } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { parseDescription } from '../../sim/targets/target-description.ts';
import { builtInTarget } from '../../sim/targets/targets.ts';

const ALL_PARTS: TargetDescription = { followsModel: true };

describe('the model', () => {
  it('tells a history that diverges as a story: which message, what the model keeps, what the target keeps', () => {
    const model = new RetentionModel({ ...DEFAULT_SETTINGS, maxHistoryMessages: 50 }, ALL_PARTS);
    model.workerStarted();
    model.created(3, 'the init prompt', 0, false);
    // A reply first, then prompt and reply pairs: the 51st message trims the reply alone, leaving 50.
    model.appended(3, { role: 'assistant', content: 'an early reply' });
    for (let index = 0; index < 49; index += 1) model.appended(3, { role: index % 2 === 0 ? 'user' : 'assistant', content: `message ${index}` });
    model.compare(3, { historyMessages: 49, historyTokens: 150, firstMessage: { role: 'user', content: 'the init prompt' }, pending: 0 }, () => undefined);
    const [divergence] = model.takeDivergences();
    expect(divergence?.sessionDbId).toBe(3);
    expect(divergence?.detail).toMatch(/^after the 51st message of session 3, the model keeps 50 messages \/ \d+ tokens \(first: the init prompt\); the target keeps 49 messages, counts 150 tokens$/);
  });

  it('agrees with a target that holds what it holds, and reports a session once', () => {
    const model = new RetentionModel({ ...DEFAULT_SETTINGS, maxHistoryMessages: 3 }, ALL_PARTS);
    model.workerStarted();
    model.created(1, 'init', 0, false);
    model.appended(1, { role: 'user', content: 'abcd' });
    model.compare(1, { historyMessages: 2, historyTokens: 2, firstMessage: { role: 'user', content: 'init' }, pending: 0 }, () => [
      { role: 'user', content: 'init' },
      { role: 'user', content: 'abcd' },
    ]);
    expect(model.takeDivergences()).toEqual([]);
    model.compare(1, { historyMessages: 1, historyTokens: 1, firstMessage: { role: 'user', content: 'init' }, pending: 0 }, () => undefined);
    model.compare(1, { historyMessages: 1, historyTokens: 1, firstMessage: { role: 'user', content: 'init' }, pending: 0 }, () => undefined);
    expect(model.takeDivergences()).toHaveLength(1);
  });

  it('expires an idle session at its TTL and says how late the target is', () => {
    const model = new RetentionModel({ ...DEFAULT_SETTINGS, ttlMs: 60_000 }, ALL_PARTS);
    model.workerStarted();
    model.created(1, 'init', 0, false);
    model.afterEvent(61_000, 1, 0);
    expect(model.takeDivergences()).toEqual([]);
    model.afterEvent(61_001, 1, 0);
    expect(model.takeDivergences()[0]?.detail).toBe('session 1 has been idle since day 0 00:00:00: the model expires it at day 0 00:01:00 (TTL 60.0 s); the target still holds it at day 0 00:01:01.001, 1.0 s late');
  });

  it('judges nothing of a target that declares nothing, and only the parts a target declares', () => {
    expect(new RetentionModel(DEFAULT_SETTINGS, {}).judged).toBe(false);
    const expiryOnly = new RetentionModel({ ...DEFAULT_SETTINGS, maxHistoryMessages: 3 }, { followsModel: ['expiry'] });
    expiryOnly.workerStarted();
    expiryOnly.created(1, 'init', 0, false);
    expiryOnly.compare(1, { historyMessages: 9, historyTokens: 9, firstMessage: undefined, pending: 4 }, () => undefined);
    expect(expiryOnly.takeDivergences()).toEqual([]);
  });

  it('followsModel is checked when an adapter declares it', () => {
    expect(parseDescription({ followsModel: ['history', 'queue'] }, 'adapter.ts').followsModel).toEqual(['history', 'queue']);
    expect(() => parseDescription({ followsModel: ['histories'] }, 'adapter.ts')).toThrow(/description\.followsModel must be true or a list of parts \('sessions', 'expiry', 'history', 'queue', 'generators', 'counters', 'resources'\), got \["histories"\]/);
    expect(() => parseDescription({ followsModel: false }, 'adapter.ts')).toThrow(/description\.followsModel/);
  });
});

/** A flaw of the twin on a scenario, judged with the description given, run to the end of `days`. */
async function flawRun(flaw: FlawName, scenarioName: string, days: number, description: TargetDescription = ALL_PARTS) {
  const scenario = loadScenario(`scenarios/${scenarioName}.json`);
  const outcome = await runScenario(scenario, { target: { name: `flaw:${flaw}`, factory: leakyTarget([flaw]), description }, seed: scenario.seeds[0]!, days, stop: 'never' });
  return outcome.result!;
}

describe('matches-model in the gate', () => {
  it.each([
    ['over-trim', 'marathon-session', 1, /^after the 50th message of session 1, the model keeps 50 messages .*; the target keeps 48 messages/],
    ['tokens-drift-on-trim', 'marathon-session', 1, /^after the \d+(st|nd|rd|th) message of session 1, the model keeps 50 messages \/ \d+ tokens .*; the target keeps 50 messages too, counts \d+ tokens$/],
    ['recovery-skips-in-flight', 'worker-restart', 2, /^after the worker restart, session \d+ had 1 pending message \(queued or in flight when the worker stopped\); the model resumes it, the target does not$/],
  ] as const)('catches %s on %s, where every bound holds: matches-model is the only invariant violated', async (flaw, scenario, days, story) => {
    const result = await flawRun(flaw, scenario, days);
    expect(Object.keys(result.violationCounts)).toEqual(['matches-model']);
    expect(result.violations[0]!.detail).toMatch(story);
  }, 60_000);

  it.each([
    ['ttl-read-as-seconds', 'steady-week', /^the target expired session \d+ at .*, after 60\.0 s idle; the model keeps it until .* \(idle since .*, TTL 60\.0 min\)$/],
    ['wakeup-not-rearmed', 'idle-before-watchdog', /^session \d+ has been idle since .*: the model expires it at .* \(TTL 2\.0 min\); the target still holds it at .*, [\d.]+ s late$/],
  ] as const)('catches %s on %s, a scenario that reaches it (settings through settings.json; deadlines not monotone)', async (flaw, scenario, story) => {
    const result = await flawRun(flaw, scenario, 1);
    expect(result.violationCounts['matches-model']).toBeGreaterThan(0);
    expect(result.violations.find((violation) => violation.invariant === 'matches-model')!.detail).toMatch(story);
  }, 60_000);

  it('judges only the parts a target declares: the over-trim goes unseen by a target that follows only sessions and expiry', async () => {
    const result = await flawRun('over-trim', 'marathon-session', 1, { followsModel: ['sessions', 'expiry'] });
    expect(result.violationCounts['matches-model']).toBeUndefined();
  }, 60_000);

  it("keeps the model's verdicts out of the trace hash: judged or not, a run has the same hash", async () => {
    const judged = await flawRun('over-trim', 'marathon-session', 1);
    const unjudged = await flawRun('over-trim', 'marathon-session', 1, {});
    expect(judged.violationCounts['matches-model']).toBeGreaterThan(0);
    expect(unjudged.violationCounts['matches-model']).toBeUndefined();
    expect(judged.traceHash).toBe(unjudged.traceHash);
  }, 60_000);

  it('holds the reference and the twin to the model on the scenario with deadlines that are not monotone', async () => {
    const scenario = loadScenario('scenarios/idle-before-watchdog.json');
    for (const name of ['reference', 'twin']) {
      const outcome = await runScenario(scenario, { target: builtInTarget(name)!, seed: 1, stop: 'never' });
      expect(outcome.result!.violationCounts).toEqual({});
    }
  }, 60_000);
});
