/**
 * A history child process: runs one checkout's runs (scenario × seed) and answers with each run's
 * summary, then exits. One process per checkout, so that each release's modules, the resolution
 * hook that stands in for its imports and anything its code leaves behind end with it; a release
 * that crashes its process is one `error` cell, never the end of `history`.
 */
import { InputError } from '../../src/input-error.ts';
import { runScenarioIsolated } from '../runs/isolated/run.ts';
import { loadScenario } from '../runs/scenario.ts';
import { resolveTarget } from '../targets/targets.ts';
import { summarizeOutcome, type ChildReply, type ChildRequest } from './release-runs.ts';

async function answer(request: ChildRequest): Promise<ChildReply> {
  try {
    const target = await resolveTarget(`claude-mem:${request.root}`);
    const runs = [];
    for (const run of request.runs) {
      const scenario = loadScenario(run.scenarioFile);
      const outcome = await runScenarioIsolated(scenario, { target, seed: run.seed, stop: 'never' });
      runs.push(summarizeOutcome(outcome));
    }
    return { runs };
  } catch (error) {
    const message = error instanceof InputError ? error.problem : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { error: message };
  }
}

// The parent ended (or stopped this run): nothing here is wanted any more.
process.on('disconnect', () => process.exit(0));
process.once('message', (request: ChildRequest) => {
  void answer(request).then((reply) => process.send!(reply, () => process.disconnect()));
});
