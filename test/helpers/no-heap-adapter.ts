/** An adapter that declares nothing: fine for `run` and `check`, refused by the heap gate. */
import type { TargetFactory } from '../../src/contract.ts';
import { referenceTarget } from '../../src/session-manager.ts';

export const createTarget: TargetFactory = (environment) => referenceTarget(environment);
