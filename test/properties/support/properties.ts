/**
 * The properties, each a function of the target it judges, so that the reference suite and the
 * detection table run exactly the same ones.
 */
import fc from 'fast-check';
import type { TargetFactory } from '../../../src/contract.ts';
import { initialModel, modelSettingsArbitrary, sessionCommands } from './session-model.ts';
import { assertPassed, simulateCase, trafficCaseArbitrary } from './traffic-case.ts';
import { World } from './world.ts';

/** Commands per run: enough to fill the cap, trim a history and outlive a TTL. */
export const MAX_COMMANDS = 40;

/** The model-based property for a target: any command sequence keeps every invariant and the model's agreement. */
export function modelBasedProperty(target: TargetFactory) {
  return fc.asyncProperty(modelSettingsArbitrary, sessionCommands(MAX_COMMANDS), async (settings, commands) => {
    const world = new World(target, settings);
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
