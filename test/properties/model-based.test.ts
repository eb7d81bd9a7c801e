/**
 * Model-based runs of the reference session manager: random command sequences (prompt, observe,
 * summarize, generator step / finish / crash / hang, delete, small and large time steps, restart,
 * shutdown, a quiet phase) against two models, every invariant checked after every command: the
 * commands' own (support/session-model.ts: which route creates, evicts or is refused) and the
 * simulator's executable model (sim/check/model.ts: histories, queues, expiries, generators), whose
 * divergences are matches-model violations.
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

  it.each([
    ['over-trim', /matches-model: after the \d+(st|nd|rd|th) message of session \d+, the model keeps \d+ messages? .*; the target keeps \d+ messages?/],
    ['tokens-drift-on-trim', /matches-model: after the \d+(st|nd|rd|th) message of session \d+, the model keeps \d+ messages? .*; the target keeps \d+ messages? too, counts \d+ tokens/],
    ['recovery-skips-in-flight', /matches-model: after the worker restart, session \d+ had 1 pending message .*; the model resumes it, the target does not/],
  ] as const)('%s, which keeps every bound, fails on matches-model alone, as a story', async (flaw, story) => {
    const details = await fc.check(modelBasedProperty(leakyTarget([flaw])), { seed: 1, numRuns: 300 });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(story);
  });

  it('a shrunk counterexample reads like a story', async () => {
    const details = await fc.check(modelBasedProperty(leakyTarget(['duplicate-generator'])), { seed: 1, numRuns: 100 });
    expect(details.failed).toBe(true);
    const story = String(details.counterexample![2]);
    expect(story).toMatch(/prompt [ABC] \(\d+ chars\): /);
    expect(String(details.errorInstance)).toContain('one-generator-per-session');
  });
});
