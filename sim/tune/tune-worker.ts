/** A tune worker thread: runs the tasks it is sent, one at a time, and sends each result back. */
import { parentPort, workerData } from 'node:worker_threads';
import type { Scenario } from '../runs/scenario.ts';
import { tuneRun, type TuneTask } from './tune.ts';

const { scenario, targetName, days } = workerData as { scenario: Scenario; targetName: string; days: number };

parentPort!.on('message', async (message: { id: number; task: TuneTask } | 'exit') => {
  if (message === 'exit') {
    parentPort!.close();
    return;
  }
  try {
    const run = await tuneRun(scenario, targetName, message.task.point, message.task.seed, days, message.task.withSeries);
    parentPort!.postMessage({ id: message.id, run });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: error instanceof Error ? `${error.message}` : String(error) });
  }
});
