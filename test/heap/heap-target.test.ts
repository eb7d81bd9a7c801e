/**
 * The heap gate on an adapter (`check --heap --target`): the probe child loads the module, and
 * sessions and history messages are found by what the adapter declares (examples/adapter.ts: a
 * session is a plain object of a given shape), not by leaksim's class names.
 */
import { describe, expect, it } from 'vitest';
import { heapCheck } from '../../sim/heap/gate.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { loadScenario, type Scenario } from '../../sim/runs/scenario.ts';
import { resolveTarget } from '../../sim/targets/targets.ts';

/** One heap seed, to keep the test to two probes. */
function firstSeedOnly(file: string): Scenario {
  const scenario = loadScenario(file);
  return { ...scenario, heap: { ...scenario.heap, seeds: [1] } };
}

describe('check --heap --target', () => {
  it("counts an adapter's sessions by their declared shape, and fails the manager without a session cap", async () => {
    const adapter = await resolveTarget('examples/adapter.ts');
    const report = await heapCheck([firstSeedOnly('scenarios/heap-deleted-sessions.json'), firstSeedOnly('scenarios/heap-idle-sessions.json')], { baselinesFile: 'reports/baselines/heap.json', target: adapter, parallel: 2 });
    const [deleted, idle] = report.runs;
    expect(deleted!.error).toBeUndefined();
    expect(deleted!.verdict).toBe('pass');
    expect(deleted!.probe!.measures.every((measure) => measure.sessionObjects >= 1 && measure.historyMessageObjects >= measure.sessionObjects)).toBe(true);
    expect(idle!.verdict).toBe('fail');
    expect(idle!.judgement!.findings.map((finding) => finding.rule)).toContain('heap-sessions-within-cap');
    expect(idle!.reproduce).toContain('--target examples/adapter.ts');
    expect(report.baselineChecks).toEqual([]);
    // The adapter's path runs through its own Map or the closure of a timer it set (its watchdog):
    // said so, not "outside the manager's maps".
    expect(idle!.probe!.retainerPath?.heldThrough).toMatch(/^a closure \(anonymous\)( in a Map \(\w+\.timers\))?$|^a Map /);
    // The probe knows no manager class of an adapter's: no "manager 0 B → 0 B" printed for it.
    const { runLines } = await import('../../sim/heap/report.ts');
    expect(idle!.probe!.measures.every((measure) => measure.managerRetainedBytes === 0)).toBe(true);
    expect(runLines(idle!).join('\n')).not.toMatch(/manager 0 B/);
    expect(runLines(idle!).join('\n')).toMatch(/checkpoints: sessions \d+ → \d+, history messages \d+ → \d+, heap /);
  });

  it('refuses an adapter that declares no heap matchers, before any probe', async () => {
    const output = collectOutput();
    expect(await main(['check', '--heap', '--target', 'test/helpers/no-heap-adapter.ts'], output)).toBe(2);
    expect(output.stderr).toEqual(['leaksim: test/helpers/no-heap-adapter.ts: description.heap must be declared for the heap gate: { session: matcher, historyMessage: matcher } (see docs/targets.md)']);
  });
});
