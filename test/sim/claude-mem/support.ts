/**
 * The claude-mem checkouts the claude-mem tests run against: the one LEAKSIM_CLAUDE_MEM_DIR names,
 * or CI's shared checkouts in ../shared/third-party/claude-mem (8.5.7 and 13.15.3). Without
 * either, those tests are skipped with one line saying how to enable them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckout, type LayoutName } from '../../../sim/targets/claude-mem/layout.ts';

const SHARED = fileURLToPath(new URL('../../../../shared/third-party/claude-mem/', import.meta.url));

export const HOW_TO_ENABLE = 'set LEAKSIM_CLAUDE_MEM_DIR to a claude-mem checkout, or provide ../shared/third-party/claude-mem';

export interface TestedCheckout {
  readonly target: string;
  readonly version: string;
  /** The committed expected verdicts for this version, when leaksim has them. */
  readonly expect: string | undefined;
}

export function checkoutsOfLayout(layout: LayoutName): TestedCheckout[] {
  const named = process.env.LEAKSIM_CLAUDE_MEM_DIR;
  const paths = named ? [named] : ['8.5.7', '13.15.3'].map((version) => join(SHARED, version)).filter((path) => existsSync(path));
  return paths
    .map((path) => ({ path, checkout: readCheckout(path, 'LEAKSIM_CLAUDE_MEM_DIR') }))
    .filter(({ checkout }) => checkout.layout === layout)
    .map(({ path, checkout }) => {
      const expect = `scenarios/expect/claude-mem-${checkout.version}.json`;
      return { target: `claude-mem:${path}`, version: checkout.version, expect: existsSync(expect) ? expect : undefined };
    });
}

export function describeTitle(layout: LayoutName, found: readonly TestedCheckout[]): string {
  const title = `leaksim on claude-mem's own code, ${layout}.x layout`;
  if (found.length > 0) return title;
  // vitest prints no title for a file whose tests are all skipped: say it where the run shows it.
  console.warn(`skipped: the claude-mem ${layout}.x tests need a checkout: ${HOW_TO_ENABLE}`);
  return `${title} (skipped: ${HOW_TO_ENABLE})`;
}
