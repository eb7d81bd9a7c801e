/** Bad heap input is an InputError naming file, line and field (exit 2), never a crash or a silent default. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { readBaselines } from '../../sim/heap-analysis/baselines.ts';
import { heapPlanOf } from '../../sim/heap/plan.ts';
import { parseScenario } from '../../sim/runs/scenario.ts';
import { DAY_MS } from '../../sim/engine/traffic.ts';
import { inputErrorOf } from '../helpers/input-error.ts';

function scenarioText(heap: unknown, days = 5): string {
  return JSON.stringify({ name: 'tiny', description: 'a tiny scenario', days, seeds: [1, 2], traffic: { developers: 1 }, expect: { reference: 'pass' }, heap }, null, 2);
}

describe('heap sections and baselines files', () => {
  it('fills in the heap defaults', () => {
    const plan = heapPlanOf(parseScenario(scenarioText({ expect: { reference: 'pass', baseline: 'fail', flaws: { 'listener-kept-on-delete': 'fail' } } }), 'tiny.json'))!;
    expect(plan.checkpointEveryMs).toBe(DAY_MS);
    expect(plan.warmupCheckpoints).toBe(1);
    expect(plan.seeds).toEqual([1, 2]);
    expect(plan.historySlackMessages).toBe(100);
    expect([...plan.expect]).toEqual([
      ['reference', 'pass'],
      ['baseline', 'fail'],
      ['flaw:listener-kept-on-delete', 'fail'],
    ]);
    expect(heapPlanOf(parseScenario(scenarioText(undefined), 'tiny.json'))).toBeUndefined();
  });

  it('names the line and field of a bad heap section', () => {
    expect(inputErrorOf(() => parseScenario(scenarioText({ expect: { reference: 'leaks' } }), 'bad.json')).message).toBe(
      'bad.json:17: heap.expect.reference expected one of "pass", "fail", got "leaks"',
    );
    expect(inputErrorOf(() => parseScenario(scenarioText({ expect: { reference: 'pass' }, every: 3 }), 'bad.json')).message).toMatch(/^bad\.json:\d+: heap\.every is not a known field/);
    const tooShort = inputErrorOf(() => parseScenario(scenarioText({ checkpointEveryHours: 24, expect: { reference: 'pass' } }, 3), 'bad.json'));
    expect(tooShort.field).toBe('heap');
    expect(tooShort.line).toBe(16); // the checkpointEveryHours line
    expect(tooShort.problem).toMatch(/gives 2 checkpoints inside 3 days \(every 24 h\), 1 of them warm-up: the growth rule needs 3/);
  });

  it('refuses a baselines file it cannot trust', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-baselines-'));
    const file = join(dir, 'heap.json');
    writeFileSync(file, JSON.stringify({ leaksimHeapBaselines: 2, marginPercent: 25, scenarios: {} }));
    expect(inputErrorOf(() => readBaselines(file)).message).toBe(`${file}: leaksimHeapBaselines expected 1, got 2`);
    writeFileSync(file, JSON.stringify({ leaksimHeapBaselines: 1, marginPercent: 25, scenarios: { a: { bytesPerSession: -3, bytesPerHistoryMessage: null } } }));
    expect(inputErrorOf(() => readBaselines(file)).message).toBe(`${file}: scenarios.a.bytesPerSession expected a positive number or null, got -3`);
    expect(readBaselines(join(dir, 'missing.json'))).toBeUndefined();
  });

  it('exits 2 for heap options without --heap, and for --heap over scenarios without a heap section', async () => {
    const output = collectOutput();
    expect(await main(['check', '--update-baselines'], output)).toBe(2);
    expect(output.stderr).toEqual(['leaksim check: --update-baselines only applies with --heap']);
    const plain = collectOutput();
    expect(await main(['check', '--heap', 'scenarios/steady-week.json'], plain)).toBe(2);
    expect(plain.stderr).toEqual(['leaksim check --heap: none of the scenarios has a "heap" section']);
  });
});
