/**
 * claude-mem 13.x, run unmodified (sim/targets/claude-mem/): held to its expected verdicts on every
 * scenario, passes the heap gates, and writes nothing outside the folder leaksim made for it.
 * Needs a claude-mem checkout (see support.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../sim/cli/main.ts';
import { collectOutput } from '../../../sim/cli/output.ts';
import { runScenarioIsolated } from '../../../sim/runs/isolated/run.ts';
import { loadScenario } from '../../../sim/runs/scenario.ts';
import { resolveTarget } from '../../../sim/targets/targets.ts';
import { expectPinnedTraceHashes } from '../../helpers/trace-hashes.ts';
import { checkoutsOfLayout, describeTitle } from './support.ts';

const found = checkoutsOfLayout('13');

describe.skipIf(found.length === 0)(describeTitle('13.x layout', found), () => {
  for (const checkout of found) {
    it(`${checkout.version}: every scenario gives the verdict its expect file states`, async () => {
      const output = collectOutput();
      const args = ['check', '--target', checkout.target, '--out', `reports/test-claude-mem-${checkout.version}`];
      const code = await main(checkout.expect ? [...args, '--expect', checkout.expect] : args, output);
      expect(output.stderr.filter((line) => line.startsWith('leaksim:'))).toEqual([]);
      if (!checkout.expect) return expect([0, 1]).toContain(code);
      expect(code).toBe(0);
      if (checkout.version === '8.5.7' || checkout.version === '13.15.3') expectPinnedTraceHashes(`reports/test-claude-mem-${checkout.version}/summary.json`, `claude-mem-${checkout.version}`);
    });

    it.skipIf(checkout.version !== '13.15.3')(`${checkout.version}: run to the end, steady-week, worker-restart and misbehaving-agent violate exactly the invariants docs/claude-mem.md explains`, async () => {
      const target = await resolveTarget(checkout.target);
      const violated = async (file: string): Promise<string[]> => Object.keys((await runScenarioIsolated(loadScenario(file), { target, seed: 1, stop: 'never' })).result!.violationCounts).sort();
      expect(await violated('scenarios/steady-week.json')).toEqual(['clean-shutdown', 'drains-when-quiet', 'expiry-not-early', 'history-within-bound', 'no-lost-message', 'timers-bounded']);
      expect(await violated('scenarios/worker-restart.json')).toEqual(['expiry-not-early', 'history-within-bound']);
      // No stats-agree (the bridge counts the expirations claude-mem keeps no counter of), no
      // watchdog-not-early or idle-expired-in-time (aborts before removals, lingering runs):
      // only what docs/claude-mem.md traces to claude-mem's source.
      expect(await violated('scenarios/misbehaving-agent.json')).toEqual(['clean-shutdown', 'drains-when-quiet', 'expiry-not-early', 'history-within-bound', 'no-busy-eviction', 'no-lost-message']);
    });

    it(`${checkout.version}: the gate fails when claude-mem does not do what the expect file says`, async () => {
      // 8.5.7's verdict on proper-endings (every prompt starts another generator) is not 13.x's.
      const output = collectOutput();
      const code = await main(['check', '--only', 'proper-endings', '--target', checkout.target, '--expect', 'scenarios/expect/claude-mem-legacy-routes.json', '--out', `reports/test-claude-mem-${checkout.version}-wrong`], output);
      expect(code).toBe(1);
    });

    it(`${checkout.version}: passes the heap gates`, async () => {
      const output = collectOutput();
      const code = await main(['check', '--heap', '--target', checkout.target, '--out', `reports/test-claude-mem-${checkout.version}-heap`], output);
      expect(output.stdout.filter((line) => line.startsWith('✗'))).toEqual([]);
      expect(code).toBe(0);
    });

    it(`${checkout.version}: writes nothing under the user's home, and removes its data folder`, () => {
      const scratch = mkdtempSync(join(tmpdir(), 'leaksim-claude-mem-home-'));
      const home = join(scratch, 'home');
      const temporary = join(scratch, 'tmp');
      for (const folder of [home, temporary]) spawnSync('mkdir', ['-p', folder]);
      try {
        const run = spawnSync(process.execPath, ['bin/leaksim.js', 'run', 'scenarios/marathon-session.json', '--target', checkout.target, '--seed', '1', '--out', join(scratch, 'out')], {
          env: { ...process.env, HOME: home, TMPDIR: temporary },
          encoding: 'utf8',
        });
        expect(run.stderr).not.toContain('leaksim:');
        expect([0, 1]).toContain(run.status);
        expect(readdirSync(home)).toEqual([]);
        expect(readdirSync(temporary).filter((name) => name.startsWith('leaksim-claude-mem-'))).toEqual([]);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  }
});
