/**
 * A run against claude-mem's own code, in a child process of its own (sim/targets/claude-mem/
 * isolation.ts): home, temporary folder and claude-mem's data directory inside one temporary
 * folder removed when the child exits, claude-mem's console output captured (counted, its first
 * lines kept, reported with the run's captured warnings), and a watchdog (a thread of the child,
 * claude-mem-child.ts) that kills the child when the simulation has not moved for the limit (the
 * adapters' limit times WATCHDOG_IDLE_FACTOR: claude-mem's code is not guarded call by call); the
 * run then ends as an error in one line. The run inside is the same code, with the same trace, as
 * a run in this process.
 */
import { leaksimModule } from '../../engine/package-root.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/input-error.ts';
import type { RetentionSettings } from '../../../src/settings.ts';
import { forkIsolated } from '../../targets/claude-mem/isolation.ts';
import type { RunOptions, RunOutcome } from '../run.ts';
import type { Scenario } from '../scenario.ts';

export const CLAUDE_MEM_CHILD = leaksimModule('sim/runs/isolated/claude-mem-child');

/** Where the child's watchdog thread writes why it stopped the run (inside the run's temporary folder). */
export const watchdogFile = (folder: string): string => join(folder, 'watchdog-stopped.txt');

export interface ClaudeMemRequest {
  readonly scenario: Scenario;
  readonly target: string;
  readonly seed: number;
  readonly days?: number;
  readonly settings?: { readonly values: RetentionSettings; readonly file: string };
  readonly stop?: RunOptions['stop'];
  readonly expected?: RunOptions['expected'];
  readonly progress: boolean;
  readonly watchdogMs: number;
}

export type ClaudeMemReply =
  | { readonly kind: 'started' }
  | { readonly kind: 'progress'; readonly nowMs: number; readonly hookEvents: number }
  | { readonly kind: 'outcome'; readonly outcome: RunOutcome }
  | { readonly kind: 'input-error'; readonly file: string; readonly line: number; readonly field: string; readonly problem: string }
  | { readonly kind: 'crash'; readonly message: string };

/** The kind under which claude-mem's console output is counted among a run's captured warnings. */
export const CONSOLE_WARNING_KIND = 'claude-mem console output';

/** runScenario for a claude-mem target, in an isolated child under the watchdog (`limitMs` without the simulation moving). */
export function runClaudeMemIsolated(scenario: Scenario, options: RunOptions, limitMs: number, failed: (message: string) => RunOutcome): Promise<RunOutcome> {
  const request: ClaudeMemRequest = {
    scenario,
    target: options.target.name,
    seed: options.seed,
    ...(options.days !== undefined ? { days: options.days } : {}),
    ...(options.settings ? { settings: options.settings } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
    ...(options.expected ? { expected: options.expected } : {}),
    progress: options.onProgress !== undefined,
    watchdogMs: limitMs,
  };
  let reply: ClaudeMemReply | undefined;
  const stoppedBecause = (folder: string): void => {
    const file = watchdogFile(folder);
    if (!reply && existsSync(file)) reply = { kind: 'crash', message: readFileSync(file, 'utf8') };
  };
  const { child, console: printed, ended } = forkIsolated(CLAUDE_MEM_CHILD, [], stoppedBecause);
  return new Promise<RunOutcome>((resolve, reject) => {
    let settled = false;
    child.on('message', (message: ClaudeMemReply) => {
      if (message.kind === 'progress') options.onProgress?.(message.nowMs, message.hookEvents);
      else if (message.kind === 'outcome' || message.kind === 'input-error' || message.kind === 'crash') {
        reply = message;
        child.disconnect();
      }
    });
    // Settled once the child has exited, its output is all read and its folder removed.
    void ended.then(({ code, signal }) => {
      if (settled) return;
      settled = true;
      if (reply?.kind === 'outcome') resolve(withConsole(reply.outcome, printed.lines, printed.kept));
      else if (reply?.kind === 'input-error') reject(new InputError(reply.file, reply.line, reply.field, reply.problem));
      else if (reply?.kind === 'crash') resolve(failed(reply.message));
      else resolve(failed(`the claude-mem child process exited (${signal ?? `code ${code}`}) before the run ended${printed.kept.length ? `; it last printed ${printed.kept[printed.kept.length - 1]}` : ''}`));
    });
    child.send(request);
  });
}

/** The run's outcome with claude-mem's console output counted among its captured warnings. */
function withConsole(outcome: RunOutcome, lines: number, kept: readonly string[]): RunOutcome {
  if (lines === 0 || !outcome.result) return outcome;
  const warning = { kind: CONSOLE_WARNING_KIND, count: lines, message: kept[0] ?? '', firstStackLine: `${kept.length} of ${lines} lines kept: ${kept.join(' | ')}` };
  return { ...outcome, result: { ...outcome.result, warnings: [...outcome.result.warnings, warning] } };
}
