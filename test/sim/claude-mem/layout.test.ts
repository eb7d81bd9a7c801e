/**
 * Which claude-mem a checkout holds, and one line naming what is wrong with one leaksim cannot run.
 * These build small fake checkouts and need nothing beside the repository.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUFFER_FILE, eraOf, LAYOUT_FILES, QUEUE_PROCESSOR_FILE, readCheckout, REQUIRED_FILES } from '../../../sim/targets/claude-mem/layout.ts';
import { main } from '../../../sim/cli/main.ts';
import { collectOutput } from '../../../sim/cli/output.ts';
import { InputError } from '../../../src/input-error.ts';

const scratch = mkdtempSync(join(tmpdir(), 'leaksim-layout-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let made = 0;
function checkout(manifest: unknown, files: readonly string[]): string {
  const root = join(scratch, `checkout-${(made += 1)}`);
  mkdirSync(root, { recursive: true });
  if (manifest !== undefined) writeFileSync(join(root, 'package.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), '// not claude-mem\n');
  }
  return root;
}

function problem(path: string): string {
  try {
    readCheckout(path);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`${path} was accepted`);
}

describe('reading a claude-mem checkout', () => {
  it('takes the layout, queue and era from the files, never from the version in package.json', () => {
    expect(readCheckout(checkout({ name: 'claude-mem', version: '8.5.7' }, LAYOUT_FILES['8.5']))).toMatchObject({ version: '8.5.7', layout: '8.5', queue: 'sqlite' });
    expect(readCheckout(checkout({ name: 'claude-mem', version: '13.15.3' }, [...LAYOUT_FILES['13'], BUFFER_FILE]))).toMatchObject({ version: '13.15.3', layout: '13', queue: 'buffer' });
    // A version number says nothing: a "14.0.0" with 8.x's files is run as 8.x, a "1.0.0" with 13.x's as 13.x.
    expect(readCheckout(checkout({ name: 'claude-mem', version: '14.0.0' }, LAYOUT_FILES['8.5']))).toMatchObject({ layout: '8.5', queue: 'sqlite' });
    expect(readCheckout(checkout({ name: 'claude-mem', version: '1.0.0' }, [...LAYOUT_FILES['13'], QUEUE_PROCESSOR_FILE]))).toMatchObject({ layout: '13', queue: 'sqlite' });
    expect(readCheckout(checkout({ name: 'claude-mem', version: '7.0.0' }, REQUIRED_FILES))).toMatchObject({ layout: '8.5', queue: 'array' });
    expect(eraOf({ layout: '8.5', queue: 'array' }, undefined)).toBe('memory-array');
    expect(eraOf({ layout: '8.5', queue: 'sqlite' }, undefined)).toBe('legacy-routes');
    expect(eraOf({ layout: '8.5', queue: 'sqlite' }, 180_000)).toBe('idle-generators');
    expect(eraOf({ layout: '13', queue: 'sqlite' }, 180_000)).toBe('ingest-sqlite');
    expect(eraOf({ layout: '13', queue: 'buffer' }, 180_000)).toBe('ingest-buffer');
  });

  it('names the file an incomplete checkout lacks', () => {
    const message = problem(checkout({ name: 'claude-mem', version: '13.15.3' }, [REQUIRED_FILES[0]]));
    expect(message).toContain('(claude-mem 13.15.3) is incomplete: missing src/services/worker/http/routes/SessionRoutes.ts');
  });

  it('refuses what is not a claude-mem checkout it can run, in one line each', () => {
    expect(problem(join(scratch, 'nowhere'))).toMatch(/claude-mem checkout .*nowhere is not a folder$/);
    expect(problem(checkout(undefined, []))).toMatch(/has no package\.json$/);
    expect(problem(checkout('{ not json', []))).toMatch(/package\.json is not valid JSON/);
    expect(problem(checkout({ name: 'other-tool', version: '1.0.0' }, []))).toMatch(/package\.json names "other-tool", expected "claude-mem"$/);
    expect(problem(checkout({ name: 'claude-mem', version: '5.0.0' }, ['src/index.ts']))).toMatch(/claude-mem 5\.0\.0 is not supported: it has no src\/services\/worker\/http\/routes\/SessionRoutes\.ts \(leaksim runs releases with the HTTP session routes, 7\.0\.0 onward\)$/);
  });
});

describe('--target claude-mem:<path> on the command line', () => {
  it('a checkout leaksim cannot run is one line and exit code 2, before any work', async () => {
    const output = collectOutput();
    const missing = join(scratch, 'no-such-checkout');
    expect(await main(['run', 'scenarios/steady-week.json', '--target', `claude-mem:${missing}`, '--out', join(scratch, 'out')], output)).toBe(2);
    expect(output.stderr).toEqual([`leaksim: --target: claude-mem checkout ${missing} is not a folder`]);
    expect(output.stdout).toEqual([]);
  });
});
