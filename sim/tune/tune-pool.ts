/**
 * Runs the tune grid's tasks: in this thread with one job, otherwise over `jobs` worker threads,
 * each given the next task as soon as it is free. Results are returned in task order, so what
 * follows is the same whatever the number of jobs.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../engine/package-root.ts';
import { tuneRun, type TuneInput, type TuneRun, type TuneTask } from './tune.ts';

export async function runTasks(input: TuneInput, tasks: readonly TuneTask[], jobs: number, onDone?: (done: number, total: number) => void): Promise<TuneRun[]> {
  const results: TuneRun[] = new Array(tasks.length);
  if (jobs <= 1 || tasks.length <= 1) {
    for (const [index, task] of tasks.entries()) {
      results[index] = await tuneRun(input.scenario, input.targetName, task.point, task.seed, input.days, task.withSeries);
      onDone?.(index + 1, tasks.length);
    }
    return results;
  }
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: Math.min(jobs, tasks.length) }, () => new Worker(workerEntry('sim/tune/tune-worker'), { workerData: { scenario: input.scenario, targetName: input.targetName, days: input.days } }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let finished = false;
            const give = () => {
              if (next >= tasks.length) {
                finished = true;
                worker.postMessage('exit');
                resolve();
                return;
              }
              const id = next++;
              worker.postMessage({ id, task: tasks[id] });
            };
            worker.on('message', (message: { id: number; run?: TuneRun; error?: string }) => {
              if (message.error !== undefined) {
                reject(new Error(`tune worker: ${message.error}`));
                return;
              }
              results[message.id] = message.run!;
              done += 1;
              onDone?.(done, tasks.length);
              give();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (!finished) reject(new Error(`tune worker exited with code ${code} in the middle of its run`));
            });
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return results;
}
