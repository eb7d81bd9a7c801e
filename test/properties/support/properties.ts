/**
 * The model-based and hook-traffic properties, each a function of the target it judges, so that
 * the reference suite and the detection table run exactly the same ones. (The race property is in
 * races.ts, the whole-run property in whole-run.ts.)
 */
import fc from 'fast-check';
import type { SynchronousTargetFactory, TargetFactory } from '../../../src/contract.ts';
import type { NamedTarget } from '../../../sim/targets/targets.ts';
import { initialModel, modelSettingsArbitrary, sessionCommands } from './session-model.ts';
import { assertPassed, COUNTEREXAMPLE_DIR, describeCounterexample, simulateCase, trafficCaseArbitrary, writeCounterexample, type TrafficCase, type WrittenCounterexample } from './traffic-case.ts';
import type { AbortLag } from '../../helpers/manual-agent.ts';
import { InvariantViolation, World } from './world.ts';

/**
 * When the agent's generators end after an abort: at once, or a tick later (an SDK call
 * unwinding), which is what tells a delete or shutdown that waits from one that only aborts.
 * No longer lags here: time passing inside a delete would mix expiries into its removals.
 */
export const abortLagArbitrary = fc.constantFrom<AbortLag>('sync', 'tick');

/** Commands per run: enough to fill the cap, trim a history and outlive a TTL. */
export const MAX_COMMANDS = 40;

export const HOOK_TRAFFIC = 'hook-traffic';

/** The model-based property for a target: any command sequence keeps every invariant and the model's agreement. */
export function modelBasedProperty(target: SynchronousTargetFactory) {
  return fc.asyncProperty(modelSettingsArbitrary, abortLagArbitrary, sessionCommands(MAX_COMMANDS), async (settings, abortLag, commands) => {
    // The hand-written model (support/session-model.ts) predicts creations and removals; the
    // simulator's executable model (sim/check/model.ts) judges histories, queues, expiries and
    // generators after every command, as matches-model.
    const world = new World(target, settings, { model: true });
    world.agent.abortLag = abortLag;
    try {
      await fc.asyncModelRun(() => ({ model: initialModel(settings), real: world }), commands);
    } finally {
      world.dispose();
    }
  });
}

/** Traffic-level: any short run of hook traffic, under any small settings, passes every invariant. */
export function hookTrafficProperty(target: TargetFactory) {
  return fc.asyncProperty(trafficCaseArbitrary, async (trafficCase) => {
    assertPassed(await simulateCase(trafficCase, target));
  });
}

/** A failed traffic-level check as a usable counterexample: files written, replay printed. */
export interface TrafficFailure {
  readonly invariant: string;
  readonly written: WrittenCounterexample;
  readonly message: string;
}

/**
 * Checks the traffic-level property on a target. On failure, writes the shrunk case to
 * `<dir>/hook-traffic-<target>.jsonl` (+ .settings.json; dir is reports/counterexamples unless
 * given) and returns what to print.
 */
export async function checkHookTraffic(
  target: NamedTarget,
  parameters: fc.Parameters<[TrafficCase]>,
  dir = COUNTEREXAMPLE_DIR,
): Promise<{ details: fc.RunDetails<[TrafficCase]>; failure: TrafficFailure | undefined }> {
  const details = await fc.check(hookTrafficProperty(target.factory), parameters);
  if (!details.failed || !details.counterexample) return { details, failure: undefined };
  const invariant = details.errorInstance instanceof InvariantViolation ? details.errorInstance.invariant : 'error';
  const written = writeCounterexample(HOOK_TRAFFIC, target.name, details.counterexample[0], dir);
  return { details, failure: { invariant, written, message: describeCounterexample(HOOK_TRAFFIC, target.name, invariant, written, details) } };
}
