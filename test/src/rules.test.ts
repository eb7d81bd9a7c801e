/**
 * The reference's rules hold for the reference and for the leaky twin with no flaw on (the twin
 * must be a faithful second implementation, or the flaw table would measure its differences).
 */
import { describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { COST_RULES, RULES } from './rules.ts';

describe('the reference', () => {
  for (const rule of [...RULES, ...COST_RULES]) it(`${rule.name}: ${rule.rule}`, () => rule.check(referenceTarget));
});

describe('the leaky twin with no flaw on', () => {
  for (const rule of RULES) it(rule.name, () => rule.check(leakyTarget([])));
});

describe('the cost rules fail for the leaky twin, which registers on the worker-wide signal per session', () => {
  it('one-listener-whatever-the-sessions', async () => {
    const rule = COST_RULES.find((candidate) => candidate.name === 'one-listener-whatever-the-sessions')!;
    await expect(rule.check(leakyTarget([]))).rejects.toThrow(/10 listeners held for 10 sessions/);
  });
});
