/**
 * SIGTERM to `check --jobs 2`: every check worker ends with it, one line says what was
 * interrupted, no stack trace (no EPIPE from a worker whose parent is gone), and the previous
 * report folder is kept as it was. Spawned, since a process must receive the signal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function childrenOf(pid: number): number[] {
  const listed = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return listed.stdout.split('\n').map((line) => Number(line.trim())).filter((child) => child > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('an interrupted check', () => {
  it('SIGTERM ends every worker, says what was interrupted in one line, and keeps the previous report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-interrupt-'));
    const out = join(dir, 'report');
    // A long enough check: the steady week's runs, against the reference and its flaws.
    const scenario = join(ROOT, 'scenarios/steady-week.json');
    const first = spawnSync(process.execPath, [join(ROOT, 'bin/leaksim.js'), 'run', join(ROOT, 'scenarios/proper-endings.json'), '--days', '1', '--out', out], { cwd: ROOT, encoding: 'utf8' });
    expect(first.status).toBe(0);
    const previous = readFileSync(join(out, 'summary.json'), 'utf8');
    writeFileSync(join(dir, 'marker'), 'x');

    const child = spawn(process.execPath, [join(ROOT, 'bin/leaksim.js'), 'check', scenario, '--jobs', '2', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.resume();
    // Wait until both workers run.
    let workers: number[] = [];
    await expect.poll(() => (workers = childrenOf(child.pid!)).length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(143);
    const lines = stderr.split('\n').filter((line) => line !== '');
    expect(lines).toEqual([expect.stringMatching(/^leaksim check: interrupted by SIGTERM with \d+ of \d+ runs done; every check worker was stopped, no report was written and the previous report folder is kept$/)]);
    await expect.poll(() => workers.filter(alive).length, { timeout: 10_000, interval: 100 }).toBe(0);
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(previous);
  }, 120_000);
});
