/**
 * Costs on hand-built traffic where each is known exactly: a session resumed after its TTL is one
 * cold resume, an abandoned one is none, an evicted session that comes back is one, and what its
 * history held is the context it lost.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, MINUTE_MS, type RetentionSettings } from '../../src/settings.ts';
import { DEFAULT_AGENT } from '../../sim/engine/agent.ts';
import { percentile, retainedBytes, runCosts } from '../../sim/check/costs.ts';
import { MODEL_MESSAGES_PER_SESSION, memoryModel } from '../../sim/heap-analysis/memory-model.ts';
import { simulate, type SimulationResult } from '../../sim/runs/driver.ts';
import type { HookEvent } from '../../sim/engine/events.ts';
import { metricsCsv, summaryJson, summaryMarkdown } from '../../sim/report/report.ts';
import { ORIGIN_EPOCH_MS, runScenario } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { builtInTarget } from '../../sim/targets/targets.ts';

const SETTINGS: RetentionSettings = { ...DEFAULT_SETTINGS, ttlMs: 30 * MINUTE_MS, maxActiveSessions: 10 };
const project = 'leaksim';

/** A prompt, one tool use and a Stop at `atMs`: the session's history then holds 5 messages (pinned prompt + 2 per processed message). */
function turn(session: string, atMs: number): HookEvent[] {
  return [
    { kind: 'prompt', atMs, session, project, promptChars: 100 },
    { kind: 'tool-use', atMs: atMs + 1_000, session, project, toolName: 'Read', inputChars: 10, responseChars: 10 },
    { kind: 'stop', atMs: atMs + 20_000, session, project, messageChars: 10 },
  ];
}

async function run(traffic: HookEvent[], settings: RetentionSettings = SETTINGS, targetName = 'reference'): Promise<SimulationResult> {
  return simulate({
    seed: 1,
    settings,
    target: builtInTarget(targetName)!.factory,
    traffic: [...traffic].sort((a, b) => a.atMs - b.atMs),
    originEpochMs: ORIGIN_EPOCH_MS,
    agent: DEFAULT_AGENT,
    faults: { crashProbability: 0, hangProbability: 0, duplicateHookProbability: 0 },
    sessionEndRoute: 'none',
    end: 'drain',
    sampleEveryMs: 15 * MINUTE_MS,
  });
}

const HOUR = 60 * MINUTE_MS;

describe('context lost', () => {
  it('counts a session resumed after its TTL as one cold resume, with the messages its history held', async () => {
    const result = await run([...turn('resumed', 0), ...turn('resumed', 2 * HOUR)]);
    expect(result.passed).toBe(true);
    expect(result.totals.expirations).toBe(2); // expired before the resume, and again at the end
    expect(result.totals.coldResumes).toBe(1);
    expect(result.totals.droppedHistoryMessages).toBe(5);
    expect(runCosts(result, memoryModel()).contextLost).toEqual({ coldResumes: 1, droppedHistoryMessages: 5, trimmedMessages: 0, lostMessages: 5 });
  });

  it('counts an abandoned session as none, although it expired', async () => {
    const result = await run(turn('abandoned', 0));
    expect(result.totals.expirations).toBe(1);
    expect(result.totals.coldResumes).toBe(0);
    expect(runCosts(result, memoryModel()).contextLost.lostMessages).toBe(0);
  });

  it('counts nothing for a session resumed within its TTL', async () => {
    const result = await run([...turn('kept', 0), ...turn('kept', 20 * MINUTE_MS)]);
    expect(result.totals.coldResumes).toBe(0);
    expect(result.totals.droppedHistoryMessages).toBe(0);
  });

  it('counts an evicted session that comes back as a cold resume, and one that does not as none', async () => {
    const settings = { ...SETTINGS, ttlMs: 10 * HOUR, maxActiveSessions: 1 };
    // a is evicted by b (a is idle), b by c; a comes back, c and b never do.
    const result = await run([...turn('a', 0), ...turn('b', HOUR), ...turn('c', 2 * HOUR), ...turn('a', 3 * HOUR)], settings);
    expect(result.totals.evictions).toBe(3);
    expect(result.totals.coldResumes).toBe(1);
    expect(result.totals.droppedHistoryMessages).toBe(5);
  });

  it('counts trimmed messages as lost, beside dropped ones', async () => {
    const settings = { ...SETTINGS, maxHistoryMessages: 3 };
    const result = await run([...turn('trimmed', 0), ...turn('trimmed', 2 * HOUR)], settings);
    const costs = runCosts(result, memoryModel()).contextLost;
    expect(costs.trimmedMessages).toBeGreaterThan(0);
    expect(costs.coldResumes).toBe(1);
    expect(costs.droppedHistoryMessages).toBe(3); // held at its bound when it expired
    expect(costs.lostMessages).toBe(costs.trimmedMessages + 3);
  });

  it('does not count a session the leaky baseline never expires (it keeps the context, and the memory)', async () => {
    const result = await run([...turn('resumed', 0), ...turn('resumed', 2 * HOUR)], SETTINGS, 'baseline');
    expect(result.totals.coldResumes).toBe(0);
  });
});

describe('work refused', () => {
  it('counts each session refused at the cap', async () => {
    // Two sessions busy at once under a cap of 1: the second is refused while the first works.
    const settings = { ...SETTINGS, maxActiveSessions: 1 };
    const busy: HookEvent[] = [
      { kind: 'prompt', atMs: 0, session: 'first', project, promptChars: 100 },
      { kind: 'tool-use', atMs: 1_000, session: 'first', project, toolName: 'Read', inputChars: 10, responseChars: 10 },
      { kind: 'prompt', atMs: 2_000, session: 'second', project, promptChars: 100 },
    ];
    const result = await run(busy, settings);
    expect(runCosts(result, memoryModel()).workRefused.refusedSessions).toBe(1);
  });
});

describe('memory', () => {
  it('is modelled from the committed heap baselines, the session overhead net of its history', () => {
    const model = memoryModel();
    expect(model.bytesPerHistoryMessage).toBeGreaterThan(0);
    expect(model.bytesPerSession).toBeGreaterThan(0);
    expect(retainedBytes(model, 2, 10)).toBe(2 * model.bytesPerSession + 10 * model.bytesPerHistoryMessage);
    expect(model.source).toContain('heap-idle-sessions');
  });

  it('rests on a measured fact: heap-idle-sessions holds its sessions at 20 history messages at its judged checkpoints', async () => {
    const scenario = loadScenario('scenarios/heap-idle-sessions.json');
    const ratios: number[] = [];
    for (const seed of [1, 2, 3]) {
      let checkpoint = 0;
      await runScenario(scenario, {
        target: builtInTarget('reference')!,
        seed,
        checkpoint: {
          everyMs: 24 * HOUR,
          onCheckpoint: (_nowMs, target) => {
            const stats = target.stats();
            // The first checkpoint is the heap gate's warm-up.
            if ((checkpoint += 1) > 1 && stats.activeSessions > 0) ratios.push(stats.historyMessages / stats.activeSessions);
          },
        },
      });
    }
    expect(ratios.length).toBe(12);
    const mean = ratios.reduce((sum, ratio) => sum + ratio, 0) / ratios.length;
    expect(mean).toBeGreaterThan(MODEL_MESSAGES_PER_SESSION * 0.99);
    expect(Math.max(...ratios)).toBeLessThanOrEqual(MODEL_MESSAGES_PER_SESSION);
  });

  it('gives the baseline a climbing peak and the reference a bounded one on the same week', async () => {
    const scenario = loadScenario('scenarios/steady-week.json');
    const reference = await runScenario(scenario, { target: builtInTarget('reference')!, seed: 1, days: 3, stop: 'never' });
    const baseline = await runScenario(scenario, { target: builtInTarget('baseline')!, seed: 1, days: 3, stop: 'never' });
    expect(baseline.costs!.memory.peakBytes).toBeGreaterThan(3 * reference.costs!.memory.peakBytes);
    expect(reference.costs!.memory.p95Bytes).toBeLessThanOrEqual(reference.costs!.memory.peakBytes);
  });

  it('takes the nearest-rank 95th percentile', () => {
    expect(percentile([], 95)).toBe(0);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 95)).toBe(19);
    expect(percentile([5], 95)).toBe(5);
  });
});

describe('in every report', () => {
  it('states the settings a run used and what they cost, in summary.json, summary.md and the metrics', async () => {
    const scenario = loadScenario('scenarios/resume-after-ttl.json');
    const outcome = await runScenario(scenario, { target: builtInTarget('reference')!, seed: 1, days: 2 });
    const report = { command: 'run', outcomes: [outcome] };
    const run = JSON.parse(summaryJson(report)).runs[0];
    expect(run.settings).toEqual({ ttlMinutes: 30, maxActiveSessions: 100, maxHistoryMessages: 50, maxHistoryTokens: 100_000, generatorIdleTimeoutMinutes: 5, generatorRestartDelayMs: 1_000 });
    expect(run.costs.contextLost.coldResumes).toBeGreaterThan(0); // sessions resumed after their 30-minute TTL
    expect(run.costs.contextLost.coldResumes).toBe(outcome.result!.totals.coldResumes);
    expect(run.costs.memory.peakBytes).toBe(outcome.costs!.memory.peakBytes);
    expect(summaryMarkdown(report)).toContain('| resume-after-ttl | reference | 1 | TTL 30 min, cap 100 sessions, history 50 messages / 100,000 tokens');
    const csv = metricsCsv(outcome.result!.samples).split('\n');
    expect(csv[0]).toMatch(/,coldResumes,retainedBytes$/);
    const last = csv.at(-2)!.split(',');
    expect(Number(last.at(-2))).toBe(outcome.result!.totals.coldResumes);
  });
});
