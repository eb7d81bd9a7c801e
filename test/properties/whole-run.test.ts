/**
 * Whole-run properties: generated scenarios (traffic parameters, settings, faults, seed) through
 * the simulator. The reference keeps every invariant; the same seed twice gives the same trace.
 */
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { builtInTarget } from '../../sim/targets/targets.ts';
import { referenceRuns, timeoutFor } from './support/runs.ts';
import { wholeRunProperty, writeScenarioCounterexample, type GeneratedScenario } from './support/whole-run.ts';
import { InvariantViolation } from './support/world.ts';

const QUICK_RUNS = 15;

describe('whole runs', () => {
  it(
    'any generated day of team traffic, with crashes, hangs, restarts and sleeps, keeps every invariant on the reference, and replays to the same trace hash',
    async () => {
      const reference = builtInTarget('reference')!;
      const details = await fc.check(wholeRunProperty(reference), referenceRuns<[GeneratedScenario]>(QUICK_RUNS));
      if (details.failed && details.counterexample) {
        const written = writeScenarioCounterexample('reference', details.counterexample[0]);
        console.error(`counterexample: ${String(details.errorInstance)}\n  scenario:   ${written.file}\n  replay:     ${written.run}\n  fast-check: seed ${details.seed}, path "${details.counterexamplePath}"`);
      }
      expect(details.failed ? String(details.errorInstance) : undefined).toBeUndefined();
    },
    timeoutFor(QUICK_RUNS),
  );

  it('a failure that needs a hung generator is written as a scenario file that `leaksim run` replays to the same violation', async () => {
    const planted = builtInTarget('flaw:no-generator-watchdog')!;
    const details = await fc.check(wholeRunProperty(planted), { seed: 1, numRuns: 100 });
    expect(details.failed).toBe(true);
    const invariant = (details.errorInstance as InvariantViolation).invariant;
    // A folder of its own: the detection test writes reports/counterexamples at the same time.
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-counterexample-'));
    const written = writeScenarioCounterexample(planted.name, details.counterexample![0], dir);
    expect(written.run).toBe(`npx leaksim run ${dir}/whole-run-flaw-no-generator-watchdog.json --target flaw:no-generator-watchdog --seed ${details.counterexample![0].seed}`);
    const output = collectOutput();
    const code = await main([...written.runArgs, '--json', '--out', mkdtempSync(join(tmpdir(), 'leaksim-run-'))], output);
    const summary = JSON.parse(output.stdout.join('\n')) as { runs: { firstViolation: { invariant: string } | null }[] };
    expect(code).toBe(1);
    expect(summary.runs[0]!.firstViolation!.invariant).toBe(invariant);
  });
});
