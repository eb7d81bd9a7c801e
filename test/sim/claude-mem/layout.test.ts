/**
 * Which claude-mem a checkout holds, and one line naming what is wrong with one leaksim cannot run.
 * These build small fake checkouts and need nothing beside the repository.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAYOUT_FILES, readCheckout } from '../../../sim/targets/claude-mem/layout.ts';
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
  it('takes the layout from the files, the version from package.json', () => {
    expect(readCheckout(checkout({ name: 'claude-mem', version: '8.5.7' }, LAYOUT_FILES['8.5']))).toMatchObject({ version: '8.5.7', layout: '8.5' });
    expect(readCheckout(checkout({ name: 'claude-mem', version: '13.15.3' }, LAYOUT_FILES['13']))).toMatchObject({ version: '13.15.3', layout: '13' });
    // A later release that keeps a layout's files runs as that layout.
    expect(readCheckout(checkout({ name: 'claude-mem', version: '14.0.0' }, LAYOUT_FILES['13']))).toMatchObject({ version: '14.0.0', layout: '13' });
  });

  it('names every file an incomplete checkout lacks', () => {
    const files = LAYOUT_FILES['13'].filter((file) => !file.endsWith('SessionMessageBuffer.ts') && !file.endsWith('shared.ts'));
    const message = problem(checkout({ name: 'claude-mem', version: '13.15.3' }, files));
    expect(message).toContain('(claude-mem 13.15.3, 13.x layout) is incomplete: missing src/services/worker/SessionMessageBuffer.ts, src/services/worker/http/shared.ts');
  });

  it('refuses what is not a claude-mem checkout it can run, in one line each', () => {
    expect(problem(join(scratch, 'nowhere'))).toMatch(/claude-mem checkout .*nowhere is not a folder$/);
    expect(problem(checkout(undefined, []))).toMatch(/has no package\.json$/);
    expect(problem(checkout('{ not json', []))).toMatch(/package\.json is not valid JSON/);
    expect(problem(checkout({ name: 'other-tool', version: '1.0.0' }, []))).toMatch(/package\.json names "other-tool", expected "claude-mem"$/);
    expect(problem(checkout({ name: 'claude-mem', version: '5.0.0' }, ['src/index.ts']))).toMatch(/claude-mem 5\.0\.0 is not supported \(leaksim runs the 8\.5\.x and 13\.x layouts\)$/);
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
