/**
 * Loads claude-mem's own session manager and session routes from a checkout, unmodified, under
 * Node: tsx compiles claude-mem's TypeScript as it is, and a resolution hook (resolve-hook.mjs)
 * redirects the few imports that cannot run here to leaksim's stand-ins (stand-ins/, each one
 * documented in its file and in docs/claude-mem.md). Nothing of claude-mem is copied.
 *
 * The modules are imported with Node's own `import()` (not through a bundler's), so the hook sees
 * every import claude-mem makes, also when leaksim itself runs inside vitest.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClaudeMemCheckout, LayoutName } from './layout.ts';

const standIn = (file: string): string => new URL(`./stand-ins/${file}`, import.meta.url).href;

/**
 * What each layout redirects: a path inside the checkout without its extension, or a bare package
 * name imported from inside the checkout. Everything else is claude-mem's own file.
 */
const REDIRECTS: Readonly<Record<LayoutName, Readonly<Record<string, string>>>> = {
  '8.5': {
    'src/utils/logger': standIn('logger.ts'),
    'src/shared/paths': standIn('paths-8.ts'),
    'src/services/sqlite/PendingMessageStore': standIn('pending-message-store-8.ts'),
    'src/services/worker/GeminiAgent': standIn('providers.ts'),
    'src/services/worker/OpenRouterAgent': standIn('providers.ts'),
  },
  '13': {
    'src/utils/logger': standIn('logger.ts'),
    'src/services/worker/ClaudeProvider': standIn('providers.ts'),
    'src/services/worker/GeminiProvider': standIn('providers.ts'),
    'src/services/worker/OpenRouterProvider': standIn('providers.ts'),
    'src/services/telemetry/buffer': standIn('telemetry-13.ts'),
    zod: standIn('zod.ts'),
  },
};

/**
 * Node's own dynamic import, through tsx (which compiles claude-mem's TypeScript as it is): tsx's
 * `tsImport` runs in Node's loader, out of reach of a bundler that rewrites `import()` (vitest's).
 * tsx itself is loaded only here, when a checkout is: leaksim's build starts without it.
 */
const nativeImport = async (url: string): Promise<Record<string, unknown>> => (await (await import('tsx/esm/api')).tsImport(url, import.meta.url)) as Record<string, unknown>;
let dataDir: string | undefined;
const registeredRoots = new Set<string>();
const loaded = new Map<string, Promise<Record<string, Record<string, unknown>>>>();

/**
 * The folder claude-mem takes for its data directory (settings, logs): created by leaksim for this
 * process and removed when it exits, holding an empty settings file (claude-mem's defaults apply).
 * claude-mem 13.x finds it through `CLAUDE_MEM_DATA_DIR`; 8.5.x through the paths stand-in.
 */
export function claudeMemDataDir(): string {
  if (!dataDir) {
    const created = mkdtempSync(join(tmpdir(), 'leaksim-claude-mem-'));
    dataDir = created;
    process.on('exit', () => rmSync(created, { recursive: true, force: true }));
    // An empty settings file: claude-mem takes its defaults (13.x would otherwise write them there and say so on stderr).
    writeFileSync(join(created, 'settings.json'), '{}\n');
    process.env.LEAKSIM_CLAUDE_MEM_DATA_DIR = created;
    process.env.CLAUDE_MEM_DATA_DIR = created;
    process.env.CLAUDE_CONFIG_DIR = join(created, 'claude-config');
  }
  return dataDir;
}

/** The files leaksim drives, by layout, relative to the checkout. */
export const LOADED_FILES: Readonly<Record<LayoutName, Readonly<Record<string, string>>>> = {
  '8.5': {
    sessionManager: 'src/services/worker/SessionManager.ts',
    sessionRoutes: 'src/services/worker/http/routes/SessionRoutes.ts',
    settings: 'src/shared/SettingsDefaultsManager.ts',
  },
  '13': {
    sessionManager: 'src/services/worker/SessionManager.ts',
    sessionRoutes: 'src/services/worker/http/routes/SessionRoutes.ts',
    completion: 'src/services/worker/session/SessionCompletionHandler.ts',
    ingest: 'src/services/worker/http/shared.ts',
    settings: 'src/shared/SettingsDefaultsManager.ts',
  },
};

/** Imports claude-mem's modules from the checkout (once per checkout and process). */
export function loadClaudeMem(checkout: ClaudeMemCheckout): Promise<Record<string, Record<string, unknown>>> {
  let modules = loaded.get(checkout.root);
  if (!modules) {
    modules = importModules(checkout);
    loaded.set(checkout.root, modules);
  }
  return modules;
}

async function importModules(checkout: ClaudeMemCheckout): Promise<Record<string, Record<string, unknown>>> {
  const folder = claudeMemDataDir();
  if (!registeredRoots.has(checkout.root)) {
    registeredRoots.add(checkout.root);
    register(new URL('./resolve-hook.mjs', import.meta.url).href, { data: { root: checkout.root, redirects: REDIRECTS[checkout.layout] } });
  }
  // One entry module, imported once: claude-mem's modules must share one instance of each module
  // they import (13.x wires its ingest helpers through module state), and each tsx import is separate.
  const entry = join(folder, `entry-${registeredRoots.size}-${checkout.layout}.mjs`);
  const files = Object.entries(LOADED_FILES[checkout.layout]);
  writeFileSync(entry, files.map(([name, file]) => `export * as ${name} from ${JSON.stringify(pathToFileURL(join(checkout.root, file)).href)};`).join('\n') + '\n');
  return (await nativeImport(pathToFileURL(entry).href)) as Record<string, Record<string, unknown>>;
}
