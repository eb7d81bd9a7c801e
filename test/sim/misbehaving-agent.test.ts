/**
 * Agents that misbehave like real SDKs (scenario faults agentLeavesAbortListener,
 * agentRunsAfterAbortMs, agentKeepsContext). The checker counts abort listeners on each session's
 * generator signal against the session's budget; the reference stays within 2 listeners per
 * session under every knob, and a target that breaks what each knob tests fails.
 */
import { describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import type { SynchronousTargetFactory, TargetFactory } from '../../src/contract.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { DEFAULT_SETTINGS } from '../../src/settings.ts';
import { DEFAULT_AGENT } from '../../sim/engine/agent.ts';
import { simulate, type DriverFaults, type SimulationResult } from '../../sim/runs/driver.ts';
import type { HookEvent } from '../../sim/engine/events.ts';
import { ORIGIN_EPOCH_MS, runScenario } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';

const EVERY_KNOB: DriverFaults = { crashProbability: 0, hangProbability: 0, duplicateHookProbability: 0, leavesAbortListener: true, runsAfterAbortMs: 2_000, keepsContext: true };

/** One session: a prompt, then `toolUses` tool uses 20 s apart, each answered by a generator run of its own. */
function* oneLongSession(toolUses: number): Generator<HookEvent> {
  yield { kind: 'prompt', atMs: 1_000, session: 'marathon', project: 'leaksim', promptChars: 400 };
  for (let index = 1; index <= toolUses; index += 1) yield { kind: 'tool-use', atMs: 1_000 + index * 20_000, session: 'marathon', project: 'leaksim', toolName: 'Read', inputChars: 100, responseChars: 400 };
}

function marathon(target: TargetFactory, faults: DriverFaults = EVERY_KNOB, toolUses = 3_000, stopAtFirstViolation = false): Promise<SimulationResult> {
  return simulate({
    seed: 1,
    settings: DEFAULT_SETTINGS,
    target,
    traffic: oneLongSession(toolUses),
    originEpochMs: ORIGIN_EPOCH_MS,
    agent: DEFAULT_AGENT,
    faults,
    sessionEndRoute: 'none',
    end: 'drain',
    sampleEveryMs: 15 * 60_000,
    stopWhen: () => stopAtFirstViolation,
  });
}

describe('an agent that leaves its abort listener after every run', () => {
  it('3,000 tool uses in one session: the reference holds at most 2 listeners for it, under every knob', async () => {
    const result = await marathon(referenceTarget);
    expect(result.violationCounts).toEqual({});
    expect(result.agentEvents).toBeGreaterThanOrEqual(3_000);
    expect(result.peaks.generatorSignalListeners).toBeLessThanOrEqual(2);
    expect(result.peaks.generatorSignalListeners + result.peaks.listeners).toBeLessThanOrEqual(2);
  });

  it('a target that shares one signal across runs piles them up, and fails listeners-bounded naming the session', async () => {
    const result = await marathon(leakyTarget(['signal-shared-across-runs']));
    expect(result.peaks.generatorSignalListeners).toBeGreaterThan(2_500);
    expect(result.violations[0]?.invariant).toBe('listeners-bounded');
    expect(result.violations[0]?.detail).toMatch(/^session 1's generator signal holds \d+ abort listeners \(bound 2: 1 per session \+ the running agent's own\)$/);
  });

  it('without the knob the shared signal goes unnoticed: the knob is what shows it', async () => {
    const result = await marathon(leakyTarget(['signal-shared-across-runs']), { ...EVERY_KNOB, leavesAbortListener: false }, 200);
    expect(result.violationCounts).toEqual({});
  });
});

describe('an agent that keeps its context after the run ends', () => {
  it('a target whose ended runs still hand out work fails one-generator-per-session', async () => {
    // The reference, but each run's context claims from the store whether its run has ended or not.
    const ungated: SynchronousTargetFactory = (environment) =>
      referenceTarget({
        ...environment,
        agent: { run: (context) => environment.agent.run({ sessionDbId: context.sessionDbId, signal: context.signal, claim: () => environment.store.claim(context.sessionDbId), append: (message) => context.append(message), ack: (message) => context.ack(message) }) },
      });
    const result = await marathon(ungated, EVERY_KNOB, 50, true);
    expect(result.violations.find((violation) => violation.invariant === 'one-generator-per-session')?.detail).toBe('session 1 handed a message to the context of a generator run that had ended (the agent kept it)');
  });
});

describe('an agent that keeps running after an abort', () => {
  const properEndings = loadScenario('scenarios/proper-endings.json');
  const lingering = { ...properEndings, faults: { ...properEndings.faults, runsAfterAbortMs: 60_000 } };

  it('still calls its context after the abort, and the reference ignores it: deletes mid-reply stay clean', async () => {
    let callsAfterAbort = 0;
    const counting: SynchronousTargetFactory = (environment) =>
      referenceTarget({
        ...environment,
        agent: {
          run: (context) => {
            const counted = <T>(call: () => T): T => {
              if (context.signal.aborted) callsAfterAbort += 1;
              return call();
            };
            return environment.agent.run({ sessionDbId: context.sessionDbId, signal: context.signal, claim: () => counted(() => context.claim()), append: (message) => counted(() => context.append(message)), ack: (message) => counted(() => context.ack(message)) });
          },
        },
      });
    const outcome = await runScenario(lingering, { target: { name: 'reference', factory: counting, description: {} }, seed: 1, stop: 'never' });
    expect(callsAfterAbort).toBeGreaterThan(0);
    expect(outcome.result!.violationCounts).toEqual({});
  });

  it('a target that waits for its aborted generators at shutdown is clean once they stop', async () => {
    const shutdownBusy = loadScenario('scenarios/shutdown-busy.json');
    const outcome = await runScenario({ ...shutdownBusy, faults: { ...shutdownBusy.faults, runsAfterAbortMs: 60_000 } }, { target: { name: 'reference', factory: referenceTarget, description: {} }, seed: 1, stop: 'never' });
    expect(outcome.result!.violationCounts).toEqual({});
  });
});
