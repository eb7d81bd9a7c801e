/**
 * claude-mem 8.5.x, run unmodified (sim/targets/claude-mem/): caught on issue #532's leak, and held to its
 * expected verdicts on every scenario. Needs a claude-mem checkout (see support.ts).
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../../sim/cli/main.ts';
import { collectOutput } from '../../../sim/cli/output.ts';
import { runScenarioIsolated } from '../../../sim/runs/isolated/run.ts';
import { loadScenario } from '../../../sim/runs/scenario.ts';
import { resolveTarget } from '../../../sim/targets/targets.ts';
import { expectPinnedTraceHashes } from '../../helpers/trace-hashes.ts';
import { checkoutsOfLayout, describeTitle } from './support.ts';

const found = checkoutsOfLayout('8.5');

describe.skipIf(found.length === 0)(describeTitle('8.5.x layout', found), () => {
  for (const checkout of found) {
    it(`${checkout.version}: every scenario gives the verdict its expect file states (issue #532: sessions never leave memory, history unbounded, cap exceeded, duplicate generators)`, async () => {
      const output = collectOutput();
      const args = ['check', '--target', checkout.target, '--out', `reports/test-claude-mem-${checkout.version}`];
      const code = await main(checkout.expect ? [...args, '--expect', checkout.expect] : args, output);
      expect(output.stderr.filter((line) => line.startsWith('leaksim:'))).toEqual([]);
      if (!checkout.expect) return expect([0, 1]).toContain(code);
      expect(code).toBe(0);
      if (checkout.version === '8.5.7' || checkout.version === '13.15.3') expectPinnedTraceHashes(`reports/test-claude-mem-${checkout.version}/summary.json`, `claude-mem-${checkout.version}`);
      const steadyWeek = output.stdout.filter((line) => line.includes('steady-week ·') && line.startsWith('✓'));
      expect(steadyWeek.length).toBeGreaterThan(0);
    });

    it.skipIf(checkout.version !== '8.5.7')(`${checkout.version}: run to the end, steady-week and worker-restart violate exactly the invariants docs/claude-mem.md explains`, async () => {
      const target = await resolveTarget(checkout.target);
      const violated = async (file: string): Promise<string[]> => Object.keys((await runScenarioIsolated(loadScenario(file), { target, seed: 1, stop: 'never' })).result!.violationCounts).sort();
      expect(await violated('scenarios/steady-week.json')).toEqual(['drains-when-quiet', 'history-within-bound', 'idle-expired-in-time', 'listeners-bounded', 'no-lost-message', 'one-generator-per-session', 'sessions-within-cap', 'watchdog-not-early']);
      expect(await violated('scenarios/worker-restart.json')).toEqual(['drains-when-quiet', 'history-within-bound', 'idle-expired-in-time', 'listeners-bounded', 'no-lost-message', 'one-generator-per-session']);
    });

    it(`${checkout.version}: the gate fails when claude-mem does not do what the expect file says`, async () => {
      // 13.15.3's verdict on proper-endings (sessions end 3 idle minutes after their last message) is not 8.5.x's.
      const output = collectOutput();
      const code = await main(['check', '--only', 'proper-endings', '--target', checkout.target, '--expect', 'scenarios/expect/claude-mem-ingest-buffer.json', '--out', `reports/test-claude-mem-${checkout.version}-wrong`], output);
      expect(code).toBe(1);
      expect(output.stdout.some((line) => line.startsWith('✗ proper-endings'))).toBe(true);
    });

    it(`${checkout.version}: the heap gate finds its sessions in the heap, beyond the cap and growing`, async () => {
      const output = collectOutput();
      const code = await main(['check', '--heap', '--target', checkout.target, '--out', `reports/test-claude-mem-${checkout.version}-heap`], output);
      expect(code).toBe(1);
      const idle = output.stdout.filter((line) => line.startsWith('✗ heap-idle-sessions'));
      expect(idle.length).toBeGreaterThan(0);
      for (const line of idle) expect(line).toContain('heap-sessions-within-cap');
    });
  }
});
