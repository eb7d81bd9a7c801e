/**
 * The claude-mem checkouts the claude-mem tests run against: the one LEAKSIM_CLAUDE_MEM_DIR names,
 * or CI's shared releases in ../shared/third-party/claude-mem (7.0.0 to 13.15.3). Without either,
 * those tests are skipped with one line saying how to enable them. Variants (a release with one
 * edit, as a pull request would make it) are copies of a shared release in a temporary folder.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckout, type LayoutName } from '../../../sim/targets/claude-mem/layout.ts';

export const SHARED = fileURLToPath(new URL('../../../../shared/third-party/claude-mem/', import.meta.url));

export const HOW_TO_ENABLE = 'set LEAKSIM_CLAUDE_MEM_DIR to a claude-mem checkout, or provide ../shared/third-party/claude-mem';

export interface TestedCheckout {
  readonly path: string;
  readonly target: string;
  readonly version: string;
  /** The committed expected verdicts for this checkout's era, when leaksim has them. */
  readonly expect: string | undefined;
}

/** Every shared release (or the one LEAKSIM_CLAUDE_MEM_DIR names), oldest first. */
export function sharedReleases(): TestedCheckout[] {
  const named = process.env.LEAKSIM_CLAUDE_MEM_DIR;
  const paths = named
    ? [named]
    : existsSync(SHARED)
      ? readdirSync(SHARED)
          .filter((name) => existsSync(join(SHARED, name, 'package.json')))
          .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
          .map((name) => join(SHARED, name))
      : [];
  return paths.map((path) => {
    const checkout = readCheckout(path, 'LEAKSIM_CLAUDE_MEM_DIR');
    return { path, target: `claude-mem:${path}`, version: checkout.version, expect: undefined };
  });
}

/** The shared releases 8.5.7 and 13.15.3 that leaksim was first fitted to, by layout. */
export function checkoutsOfLayout(layout: LayoutName): TestedCheckout[] {
  const named = process.env.LEAKSIM_CLAUDE_MEM_DIR;
  const paths = named ? [named] : ['8.5.7', '13.15.3'].map((version) => join(SHARED, version)).filter((path) => existsSync(path));
  return paths
    .map((path) => ({ path, checkout: readCheckout(path, 'LEAKSIM_CLAUDE_MEM_DIR') }))
    .filter(({ checkout }) => checkout.layout === layout)
    .map(({ path, checkout }) => {
      const expect = `scenarios/expect/claude-mem-${layout === '8.5' ? 'legacy-routes' : 'ingest-buffer'}.json`;
      return { path, target: `claude-mem:${path}`, version: checkout.version, expect: existsSync(expect) ? expect : undefined };
    });
}

export function describeTitle(what: string, found: readonly unknown[]): string {
  const title = `leaksim on claude-mem's own code, ${what}`;
  if (found.length > 0) return title;
  // vitest prints no title for a file whose tests are all skipped: say it where the run shows it.
  console.warn(`skipped: the claude-mem tests (${what}) need a checkout: ${HOW_TO_ENABLE}`);
  return `${title} (skipped: ${HOW_TO_ENABLE})`;
}

/**
 * A copy of a shared release with one edit, as a pull request would make it: `edits` maps a file
 * inside the checkout to a function of its text. The copy's folder is returned; `removeVariants`
 * deletes every copy.
 */
const variantFolders: string[] = [];
export function variantOf(release: string, edits: Readonly<Record<string, (text: string) => string>>): string {
  const folder = mkdtempSync(join(tmpdir(), `leaksim-claude-mem-variant-${release}-`));
  variantFolders.push(folder);
  const root = join(folder, release);
  cpSync(join(SHARED, release), root, { recursive: true });
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(root, file);
    const before = readFileSync(path, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`variant of ${release}: the edit of ${file} changed nothing`);
    writeFileSync(path, after);
  }
  return root;
}

export function removeVariants(): void {
  for (const folder of variantFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
}
