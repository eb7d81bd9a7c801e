/**
 * claude-mem's code runs in a child process of its own, never in leaksim's: the child's home,
 * temporary folder and claude-mem's data and config folders all point into one temporary folder
 * (load.ts `isolatedEnvironment`), which the parent creates and removes when the child exits, and
 * everything the child prints (claude-mem's own console output) is captured by the parent,
 * counted and kept for the report, never mixed into leaksim's lines.
 *
 * Two kinds of child: one that loads a checkout and describes it (describe-child.ts, when a
 * command resolves `claude-mem:<path>`), and one per run (sim/runs/isolated/claude-mem.ts).
 * A process that is itself such a child (or the heap probe, a child of its own) loads claude-mem
 * in place: `LEAKSIM_CLAUDE_MEM_IN_PROCESS=1`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnvironment } from './load.ts';

export const IN_PROCESS_ENV = 'LEAKSIM_CLAUDE_MEM_IN_PROCESS';
/** The temporary folder a child was given (load.ts `isolateClaudeMem` uses it instead of making one). */
export const FOLDER_ENV = 'LEAKSIM_CLAUDE_MEM_FOLDER';
/** How many lines of a child's console output a report keeps (all are counted). */
export const KEPT_CONSOLE_LINES = 20;

/** Whether claude-mem may be loaded into this process. */
export function claudeMemLoadsHere(): boolean {
  return process.env[IN_PROCESS_ENV] === '1';
}

/** What a child printed: claude-mem's console output, with the stream each line came on. */
export class CapturedConsole {
  lines = 0;
  readonly kept: string[] = [];
  #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  take(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    const text = this.#partial[stream] + chunk.toString();
    const parts = text.split('\n');
    this.#partial[stream] = parts.pop()!;
    for (const line of parts) this.#line(stream, line);
  }

  finish(): void {
    for (const stream of ['stdout', 'stderr'] as const) if (this.#partial[stream]) this.#line(stream, this.#partial[stream]);
    this.#partial = { stdout: '', stderr: '' };
  }

  #line(stream: string, line: string): void {
    this.lines += 1;
    if (this.kept.length < KEPT_CONSOLE_LINES) this.kept.push(`${stream}: ${line}`);
  }
}

export interface IsolatedChild {
  readonly child: ChildProcess;
  readonly folder: string;
  readonly console: CapturedConsole;
  /** Settles once the child has exited, its output is read and its folder is removed. */
  readonly ended: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
}

/**
 * After the child exits, how long its output pipes may stay open: a process the child started (the
 * esbuild service tsx runs) may hold them a little longer; what it prints then is not claude-mem's.
 */
const OUTPUT_GRACE_MS = 500;

/**
 * Forks `entry` (a TypeScript module, run through tsx) as an isolated claude-mem child with an IPC
 * channel; its temporary folder is removed when it has exited (after `beforeRemove` looked into
 * it), and should this process exit first, then.
 */
export function forkIsolated(entry: string, args: readonly string[] = [], beforeRemove?: (folder: string) => void): IsolatedChild {
  const folder = mkdtempSync(join(tmpdir(), 'leaksim-claude-mem-'));
  const remove = () => rmSync(folder, { recursive: true, force: true });
  process.once('exit', remove);
  const child = fork(entry, [...args], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...isolatedEnvironment(folder), [IN_PROCESS_ENV]: '1', [FOLDER_ENV]: folder },
  });
  const captured = new CapturedConsole();
  child.stdout!.on('data', (chunk: Buffer) => captured.take('stdout', chunk));
  child.stderr!.on('data', (chunk: Buffer) => captured.take('stderr', chunk));
  const streamsEnded = Promise.all([child.stdout!, child.stderr!].map((stream) => new Promise<void>((resolve) => stream.once('close', () => resolve()))));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      let grace: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((done) => {
        grace = setTimeout(done, OUTPUT_GRACE_MS);
      });
      void Promise.race([streamsEnded, timedOut]).then(() => {
        clearTimeout(grace);
        child.stdout!.destroy();
        child.stderr!.destroy();
        captured.finish();
        beforeRemove?.(folder);
        remove();
        process.removeListener('exit', remove);
        resolve({ code, signal });
      });
    });
  });
  return { child, folder, console: captured, ended };
}
