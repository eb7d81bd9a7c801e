import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { createTarget } from '../../examples/adapter.ts';
import type { TargetFactory } from '../../src/contract.ts';
import { runScenarioIsolated } from '../../sim/runs/isolated/run.ts';
import { runScenario } from '../../sim/runs/run.ts';
import { loadScenario } from '../../sim/runs/scenario.ts';
import { resolveTarget } from '../../sim/targets/targets.ts';

/** The template with one of its safeguards switched off through the settings it reads: a deliberately broken twin. */
function createTargetWithout(safeguard: 'watchdog' | 'restart delay'): TargetFactory {
  return (environment) =>
    createTarget({
      ...environment,
      // 2e9 ms (23 days, within setTimeout's range): a watchdog that never fires within the run.
      settings: safeguard === 'watchdog' ? { ...environment.settings, generatorIdleTimeoutMs: 2e9 } : { ...environment.settings, generatorRestartDelayMs: 0 },
      // A provider that fails every call at once, without taking any work: only the restart delay stands between it and a storm.
      ...(safeguard === 'restart delay' ? { agent: { run: () => Promise.resolve() } } : {}),
    });
}

describe('the example adapter (examples/adapter.ts)', () => {
  it('runs a third-party manager through a scenario from the command line', async () => {
    const output = collectOutput();
    const code = await main(['run', 'scenarios/abandoned-sessions.json', '--target', 'examples/adapter.ts', '--seed', '1', '--out', join(mkdtempSync(join(tmpdir(), 'leaksim-adapter-')), 'report')], output);
    expect(output.stdout[0]).toBe('✓ abandoned-sessions · examples/adapter.ts · seed 1: pass');
    expect(code).toBe(0);
  });

  it('drains hung generators with its watchdog, and is caught where that manager is unsound: no session cap', async () => {
    const adapter = await resolveTarget('examples/adapter.ts');
    const hangs = await runScenario(loadScenario('scenarios/crashing-generators.json'), { target: adapter, seed: 1 });
    expect(hangs.verdict).toBe('pass');
    const burst = await runScenario(loadScenario('scenarios/burst-at-cap.json'), { target: adapter, seed: 1 });
    expect(burst.firstViolation?.invariant).toBe('sessions-within-cap');
  });

  it('without its watchdog (the broken twin of the template) a hung provider call keeps its session for ever: drains-when-quiet', async () => {
    const adapter = await resolveTarget('examples/adapter.ts');
    const noWatchdog = { ...adapter, guard: undefined, factory: createTargetWithout('watchdog') };
    const hangs = await runScenario(loadScenario('scenarios/crashing-generators.json'), { target: noWatchdog, seed: 1 });
    expect(hangs.firstViolation?.invariant).toBe('drains-when-quiet');
  });

  it('restarting a generator that takes no work without a delay is a restart storm: no-restart-storm, a verdict, not an error', async () => {
    const adapter = await resolveTarget('examples/adapter.ts');
    const eager = { ...adapter, guard: undefined, factory: createTargetWithout('restart delay') };
    const storm = await runScenario(loadScenario('scenarios/proper-endings.json'), { target: eager, seed: 1, days: 1, stop: 'never' });
    expect(storm.verdict).toBe('fail');
    expect(storm.firstViolation?.invariant).toBe('no-restart-storm');
    expect(storm.error).toBeUndefined();
    const good = await runScenario(loadScenario('scenarios/misbehaving-agent.json'), { target: adapter, seed: 1 });
    expect(good.verdict).toBe('pass');
  });

  it('gives the same trace in the watchdog worker as in this thread, and the same as unguarded', async () => {
    const scenario = loadScenario('scenarios/abandoned-sessions.json');
    const adapter = await resolveTarget('examples/adapter.ts');
    const inline = await runScenario(scenario, { target: adapter, seed: 2, days: 2 });
    const isolated = await runScenarioIsolated(scenario, { target: adapter, seed: 2, days: 2 });
    const unguarded = await runScenario(scenario, { target: { name: adapter.name, factory: createTarget, description: adapter.description }, seed: 2, days: 2 });
    expect(isolated.result?.traceHash).toBe(inline.result?.traceHash);
    expect(unguarded.result?.traceHash).toBe(inline.result?.traceHash);
    expect(isolated.verdict).toBe(inline.verdict);
  });

  it('a module without createTarget is refused with exit code 2', async () => {
    const output = collectOutput();
    expect(await main(['run', 'scenarios/steady-week.json', '--target', 'examples/claude-mem-like-manager.ts'], output)).toBe(2);
    expect(output.stderr).toEqual(['leaksim: examples/claude-mem-like-manager.ts: createTarget must be exported: a function (environment) => SessionTarget']);
  });
});
