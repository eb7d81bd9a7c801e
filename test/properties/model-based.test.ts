/**
 * Model-based runs of the reference session manager: random command sequences (prompt, observe,
 * summarize, generator step / finish / crash / hang, delete, small and large time steps, restart,
 * shutdown, a quiet phase) against the model in support/session-model.ts, every invariant checked
 * after every command.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { modelBasedProperty } from './support/properties.ts';
import { referenceRuns, timeoutFor } from './support/runs.ts';

const QUICK_RUNS = 150;

describe('model-based runs', () => {
  it(
    'the reference keeps every invariant and agrees with the model after every command',
    async () => {
      await fc.assert(modelBasedProperty(referenceTarget), referenceRuns(QUICK_RUNS));
    },
    timeoutFor(QUICK_RUNS),
  );

  it(
    'the leaky twin (no flaw switched on) does too: each flaw alone is then a fair mutant',
    async () => {
      await fc.assert(modelBasedProperty(leakyTarget([])), referenceRuns(QUICK_RUNS));
    },
    timeoutFor(QUICK_RUNS),
  );

  it('a shrunk counterexample reads like a story', async () => {
    const details = await fc.check(modelBasedProperty(leakyTarget(['duplicate-generator'])), { seed: 1, numRuns: 100 });
    expect(details.failed).toBe(true);
    const story = String(details.counterexample![2]);
    expect(story).toMatch(/prompt [ABC] \(\d+ chars\): /);
    expect(String(details.errorInstance)).toContain('one-generator-per-session');
  });
});
