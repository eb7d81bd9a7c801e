/**
 * Child process of the benchmark: runs the heavy-month scenario against the reference, every
 * invariant on, and prints wall time and peak memory as JSON. Alone in its process so that its
 * peak RSS is its own.
 */
import { runScenario } from '../sim/runs/run.ts';
import { loadScenario } from '../sim/runs/scenario.ts';
import { builtInTarget } from '../sim/targets/targets.ts';

const scenario = loadScenario(process.argv[2] ?? 'scenarios/heavy-month.json');
const started = process.hrtime.bigint();
const outcome = await runScenario(scenario, { target: builtInTarget('reference')!, seed: scenario.seeds[0]! });
const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
const result = outcome.result!;
process.stdout.write(
  `${JSON.stringify({
    scenario: scenario.name,
    verdict: outcome.verdict,
    hookEvents: Object.values(result.hookEvents).reduce((sum, count) => sum + count, 0),
    agentEvents: result.agentEvents,
    wallMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  })}\n`,
);
