/**
 * One claude-mem run in an isolated child process (see ./claude-mem.ts): loads the checkout here,
 * runs the scenario, and answers with progress and the outcome over IPC. A heartbeat on the real
 * clock (captured before the run installs its fake timers) tells the parent the process is alive:
 * claude-mem's code in an endless loop stops it, and the parent ends the child.
 */
import { InputError } from '../../../src/input-error.ts';
import { errorText } from '../../targets/target-guard.ts';
import { resolveTarget } from '../../targets/targets.ts';
import { runScenario } from '../run.ts';
import type { ClaudeMemReply, ClaudeMemRequest } from './claude-mem.ts';

const realSetInterval = globalThis.setInterval;
const post = (reply: ClaudeMemReply): void => void process.send!(reply);

process.once('message', (request: ClaudeMemRequest) => {
  const heartbeat = realSetInterval(() => post({ kind: 'alive' }), request.heartbeatMs);
  void (async () => {
    let release = '';
    try {
      const target = await resolveTarget(request.target);
      release = `claude-mem ${(target as { checkout?: { version: string } }).checkout?.version}: `;
      post({ kind: 'started' });
      const outcome = await runScenario(request.scenario, {
        target,
        seed: request.seed,
        ...(request.days !== undefined ? { days: request.days } : {}),
        ...(request.settings ? { settings: request.settings } : {}),
        ...(request.stop ? { stop: request.stop } : {}),
        ...(request.expected ? { expected: request.expected } : {}),
        ...(request.progress ? { onProgress: (nowMs: number, hookEvents: number) => post({ kind: 'progress', nowMs, hookEvents }) } : {}),
      });
      // An error (a failed route, a bridge that does not fit) is leaksim's inability to run this
      // release, never a verdict about it: reported as one line and exit code 2, naming the release.
      post({ kind: 'outcome', outcome: outcome.verdict === 'error' ? { ...outcome, error: `${release}${outcome.error}`, errorFromTargetCode: true } : outcome });
    } catch (error) {
      if (error instanceof InputError) post({ kind: 'input-error', file: error.file, line: error.line, field: error.field, problem: error.problem });
      else post({ kind: 'crash', message: `${release}${errorText(error).replace(/^Error: /, '')}` });
    } finally {
      clearInterval(heartbeat);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
