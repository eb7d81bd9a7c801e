/**
 * A check worker (see run-pool.ts): started by the parent with an IPC channel (and `--import tsx` when
 * leaksim runs from its sources);
 * runs one requested run at a time and answers with its outcome. It ends when the parent
 * disconnects. Scenarios are read once per worker and kept.
 */
import { InputError } from '../../../src/input-error.ts';
import { runScenarioIsolated } from '../isolated/run.ts';
import type { RunReply, RunRequest } from './run-pool.ts';
import { loadScenario, type Scenario } from '../scenario.ts';
import { resolveTarget } from '../../targets/targets.ts';

const scenarios = new Map<string, Scenario>();

async function answer(request: RunRequest): Promise<RunReply> {
  try {
    let scenario = scenarios.get(request.scenarioFile);
    if (!scenario) {
      scenario = loadScenario(request.scenarioFile);
      scenarios.set(request.scenarioFile, scenario);
    }
    const outcome = await runScenarioIsolated(scenario, {
      target: await resolveTarget(request.target),
      seed: request.seed,
      stop: 'verdict',
      ...(request.expected ? { expected: request.expected } : {}),
      ...(request.progress ? { onProgress: (nowMs: number, hookEvents: number) => void process.send!({ index: request.index, progress: { nowMs, hookEvents } } satisfies RunReply) } : {}),
    });
    return { index: request.index, outcome };
  } catch (error) {
    if (error instanceof InputError) return { index: request.index, inputError: { file: error.file, line: error.line, field: error.field, problem: error.problem } };
    return { index: request.index, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

process.on('message', (request: RunRequest) => {
  void answer(request).then((reply) => process.send!(reply));
});
process.on('disconnect', () => process.exit(0));
