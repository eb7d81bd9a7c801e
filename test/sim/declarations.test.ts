/**
 * What a target may declare (src/contract.ts, TargetDescription) and what each declaration
 * changes. Each choice is made by a target built over the reference: judged without the
 * declaration it fails, with it it passes, and a target that breaks the declared rule still fails,
 * with a message naming the declaration.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leakyTarget } from '../../src/baseline/leaky-session-manager.ts';
import type { TargetDescription, TargetFactory } from '../../src/contract.ts';
import { InputError } from '../../src/input-error.ts';
import { referenceTarget } from '../../src/session-manager.ts';
import { summaryJson, summaryMarkdown } from '../../sim/report/report.ts';
import { runScenario, type RunOutcome } from '../../sim/runs/run.ts';
import { loadScenario, type Scenario } from '../../sim/runs/scenario.ts';
import { parseDescription } from '../../sim/targets/target-description.ts';
import { resolveTarget } from '../../sim/targets/targets.ts';
import {
  constantTtl,
  historyAfterGenerator,
  pinsFirstPrompt,
  queueInMemory,
  reportsEvictionsAsFailed,
  skipsTools,
  twoListenersPerSession,
} from '../helpers/declaring-targets.ts';

const steadyWeek = loadScenario('scenarios/steady-week.json');

function run(scenario: Scenario, factory: TargetFactory, description: TargetDescription, options: { days?: number } = {}): Promise<RunOutcome> {
  return runScenario(scenario, { target: { name: 'declaring', factory, description }, seed: scenario.seeds[0]!, stop: 'never', ...options });
}

function counts(outcome: RunOutcome): Record<string, number> {
  return outcome.result!.violationCounts as Record<string, number>;
}

describe('pinnedPrompt', () => {
  const resumeAfterTtl = loadScenario('scenarios/resume-after-ttl.json');
  const firstPinning = pinsFirstPrompt(referenceTarget);

  it("'first': a target that re-creates a session from its first prompt passes only when it says so", async () => {
    const undeclared = await run(resumeAfterTtl, firstPinning, {});
    expect(counts(undeclared)['init-prompt-kept']).toBeGreaterThan(0);
    expect(undeclared.firstViolation?.detail).toMatch(/no longer starts with its init prompt$/);
    const declared = await run(resumeAfterTtl, firstPinning, { pinnedPrompt: 'first' });
    expect(counts(declared)).toEqual({});
  });

  it("a target that pins the latest prompt while declaring 'first' fails, and the message names the declaration", async () => {
    const outcome = await run(resumeAfterTtl, referenceTarget, { pinnedPrompt: 'first' });
    expect(counts(outcome)['init-prompt-kept']).toBeGreaterThan(0);
    expect(outcome.result!.violations.find((violation) => violation.invariant === 'init-prompt-kept')!.detail).toContain("its first prompt (declared pinnedPrompt: 'first')");
  });
});

describe("queue: 'memory'", () => {
  const workerRestart = loadScenario('scenarios/worker-restart.json');
  const inMemory = queueInMemory(referenceTarget);

  it('messages lost at a restart are counted as lostAtRestart, not judged, only when the target declares its queue lives in memory', async () => {
    const undeclared = await run(workerRestart, inMemory, {});
    expect(undeclared.verdict).toBe('fail');
    const declared = await run(workerRestart, inMemory, { queue: 'memory' });
    expect(counts(declared)).toEqual({});
    expect(declared.result!.totals.lostAtRestart).toBeGreaterThan(0);
    expect(summaryJson({ command: 'run', outcomes: [declared] })).toContain(`"lostAtRestart": ${declared.result!.totals.lostAtRestart}`);
  });

  it('every other loss is still judged, and the message names the declaration', async () => {
    const crashing = loadScenario('scenarios/crashing-generators.json');
    const outcome = await run(crashing, leakyTarget(['lose-claimed-on-crash']), { queue: 'memory' });
    expect(counts(outcome)['no-lost-message']).toBeGreaterThan(0);
    expect(outcome.result!.violations.find((violation) => violation.invariant === 'no-lost-message')!.detail).toContain("lost at restart (declared queue: 'memory')");
  });
});

describe('listenersPerSession', () => {
  const properEndings = loadScenario('scenarios/proper-endings.json');

  it('a target with two listeners per session passes only when it declares 2', async () => {
    const undeclared = await run(steadyWeek, twoListenersPerSession(referenceTarget), {}, { days: 2 });
    expect(counts(undeclared)['listeners-bounded']).toBeGreaterThan(0);
    const declared = await run(steadyWeek, twoListenersPerSession(referenceTarget), { listenersPerSession: 2 }, { days: 2 });
    expect(counts(declared)).toEqual({});
  });

  it('a leak beyond the declared budget still fails listeners-bounded, naming the declaration', async () => {
    const outcome = await run(properEndings, leakyTarget(['listener-kept-on-delete']), { listenersPerSession: 2 });
    expect(counts(outcome)['listeners-bounded']).toBeGreaterThan(0);
    expect(outcome.result!.violations.find((violation) => violation.invariant === 'listeners-bounded')!.detail).toContain('declared listenersPerSession: 2');
  });
});

describe('fixedSettings', () => {
  const threeMinutes = 3 * 60_000;

  it('a constant idle timeout is judged as the TTL the target fixes, and the report says it overrode the setting', async () => {
    const target = constantTtl(referenceTarget, threeMinutes);
    const undeclared = await run(steadyWeek, target, {}, { days: 1 });
    expect(counts(undeclared)['expiry-not-early']).toBeGreaterThan(0);
    const declared = await run(steadyWeek, target, { fixedSettings: { ttlMs: threeMinutes } }, { days: 1 });
    expect(counts(declared)).toEqual({});
    expect(declared.declarations.overriddenSettings).toEqual({ ttlMs: { given: steadyWeek.settings.ttlMs, fixed: threeMinutes } });
    expect(summaryMarkdown({ command: 'run', outcomes: [declared] })).toContain(`setting \`ttlMs\` overridden by the target: ${threeMinutes} (the run gave ${steadyWeek.settings.ttlMs})`);
    expect(JSON.parse(summaryJson({ command: 'run', outcomes: [declared] })).runs[0].overriddenSettings).toEqual({ ttlMs: { given: steadyWeek.settings.ttlMs, fixed: threeMinutes } });
  });

  it('a target that expires earlier than the TTL it declares fails expiry-not-early, naming the declaration', async () => {
    const outcome = await run(steadyWeek, constantTtl(referenceTarget, threeMinutes), { fixedSettings: { ttlMs: 10 * 60_000 } }, { days: 1 });
    expect(counts(outcome)['expiry-not-early']).toBeGreaterThan(0);
    expect(outcome.result!.violations.find((violation) => violation.invariant === 'expiry-not-early')!.detail).toContain('before the TTL of 10.0 min (declared fixedSettings.ttlMs)');
  });
});

describe('invariantsOff', () => {
  it('switches an invariant off with a reason the report states; the others still judge', async () => {
    const reason = 'sessions live until the worker restarts, by design';
    const outcome = await run(steadyWeek, leakyTarget(['no-idle-cleanup']), { invariantsOff: { 'idle-expired-in-time': reason } }, { days: 1 });
    expect(counts(outcome)['idle-expired-in-time']).toBeUndefined();
    expect(counts(outcome)['drains-when-quiet']).toBe(1);
    expect(summaryMarkdown({ command: 'run', outcomes: [outcome] })).toContain(`invariant \`idle-expired-in-time\` switched off by the target: ${reason}`);
  });
});

describe('historyEmptyUntilGenerator', () => {
  it('a history empty until the generator first runs passes only when declared', async () => {
    const undeclared = await run(steadyWeek, historyAfterGenerator(referenceTarget), {}, { days: 1 });
    expect(counts(undeclared)['init-prompt-kept']).toBeGreaterThan(0);
    const declared = await run(steadyWeek, historyAfterGenerator(referenceTarget), { historyEmptyUntilGenerator: true }, { days: 1 });
    expect(counts(declared)).toEqual({});
  });

  it('a history still empty after the generator ran fails, naming the declaration', async () => {
    const outcome = await run(steadyWeek, historyAfterGenerator(referenceTarget, true), { historyEmptyUntilGenerator: true }, { days: 1 });
    expect(outcome.result!.violations.find((violation) => violation.invariant === 'init-prompt-kept')!.detail).toContain('empty history after its generator ran (declared historyEmptyUntilGenerator: true)');
  });
});

describe('results and reasons', () => {
  it("a tool the target skips is counted as skippedTools, apart from private drops", async () => {
    const plain = await run(steadyWeek, referenceTarget, {}, { days: 1 });
    const skipping = await run(steadyWeek, skipsTools(referenceTarget, ['TodoWrite']), { skippedTools: ['TodoWrite'] }, { days: 1 });
    expect(counts(skipping)).toEqual({});
    expect(skipping.result!.totals.skippedTools).toBeGreaterThan(0);
    expect(skipping.result!.totals.privateDrops).toBe(plain.result!.totals.privateDrops);
    expect(skipping.result!.totals.messagesQueued).toBe(plain.result!.totals.messagesQueued - skipping.result!.totals.skippedTools);
  });

  it("a 'failed' removal of a busy session is not judged as an eviction", async () => {
    const burst = loadScenario('scenarios/burst-at-cap.json');
    const evicting = await run(burst, leakyTarget(['evicts-busy-session']), {});
    expect(counts(evicting)['no-busy-eviction']).toBeGreaterThan(0);
    const failing = await run(burst, reportsEvictionsAsFailed(leakyTarget(['evicts-busy-session'])), {});
    expect(counts(failing)['no-busy-eviction']).toBeUndefined();
  });
});

describe('an adapter module’s description', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leaksim-description-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is loaded beside createTarget', async () => {
    const file = join(dir, 'declaring.mjs');
    writeFileSync(file, `export const description = { pinnedPrompt: 'first', listenersPerSession: 2 };\nexport function createTarget() { throw new Error('not called'); }\n`);
    expect((await resolveTarget(file)).description).toEqual({ pinnedPrompt: 'first', listenersPerSession: 2 });
  });

  it.each([
    [{ pinnedPrompt: 'last' }, "description.pinnedPrompt must be 'latest' or 'first', got \"last\""],
    [{ queue: 'disk' }, "description.queue must be 'persisted' or 'memory'"],
    [{ listenersPerSession: 0 }, 'description.listenersPerSession must be a whole number from 1 to 1000, got 0'],
    [{ fixedSettings: { ttl: 1 } }, 'description.fixedSettings.ttl is not a setting'],
    [{ fixedSettings: { ttlMs: -1 } }, 'description.fixedSettings.ttlMs must be a positive number, got -1'],
    [{ invariantsOff: { 'no-such-invariant': 'why' } }, 'description.invariantsOff.no-such-invariant is not an invariant'],
    [{ invariantsOff: { 'drains-when-quiet': '' } }, 'description.invariantsOff.drains-when-quiet needs the reason'],
    [{ heap: { session: { constructorName: 'S' } } }, 'description.heap.historyMessage must be { constructorName: string } or { properties: string[] }'],
    [{ pinnedPromt: 'first' }, 'description.pinnedPromt is not a declaration'],
    ['first', 'description must be an object'],
  ])('%j is refused with the field named', (value, message) => {
    expect(() => parseDescription(value, 'adapter.ts')).toThrow(InputError);
    expect(() => parseDescription(value, 'adapter.ts')).toThrow(`adapter.ts: ${message}`);
  });
});
