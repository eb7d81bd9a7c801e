/**
 * Loads claude-mem's own session manager and session routes from a checkout, unmodified, under
 * Node: tsx compiles claude-mem's TypeScript as it is, and a resolution hook (resolve-hook.mjs)
 * redirects the imports that cannot run here to stand-ins. Nothing of claude-mem is copied.
 *
 * What is stood in follows the checkout's structure, read from its source (structure.ts):
 *   - a module leaksim replaces (ROLE_STAND_INS, by its path in the checkout, when the checkout
 *     has it) gets a generated stand-in exporting every name the real module exports: leaksim's
 *     implementation where it has one, an inert value (stand-ins/inert.ts) for the rest;
 *   - a package the session path imports that is not installed beside the checkout gets a
 *     generated module exporting every name the session path imports from it, all inert.
 *
 * Before anything of claude-mem loads, the process's home, temporary folder and claude-mem's data
 * and config folders are pointed into one temporary folder (`isolateClaudeMem`), removed at exit:
 * claude-mem derives its paths from them (`homedir()`, `CLAUDE_MEM_DATA_DIR`), so nothing it
 * writes lands beside the user's files. The CLI runs claude-mem in a child process of its own
 * (sim/runs/isolated/claude-mem.ts), so leaksim's own process keeps its environment.
 *
 * The modules are imported with Node's own `import()` (not through a bundler's), so the hook sees
 * every import claude-mem makes, also when leaksim itself runs inside vitest.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClaudeMemCheckout } from './layout.ts';
import { exportNames, sessionPath, type SessionPath } from './structure.ts';

const standIn = (file: string): string => new URL(`./stand-ins/${file}`, import.meta.url).href;

/**
 * Modules of claude-mem that leaksim replaces, by path inside the checkout (without extension), and
 * why (each stand-in's file says more). A checkout that lacks one simply does not use it.
 */
export const ROLE_STAND_INS: Readonly<Record<string, string>> = {
  // Writes log files into claude-mem's data directory: every line would be noise.
  'src/utils/logger': 'logger.ts',
  // SQLite through `bun:sqlite`: forwarded to leaksim's database stand-in (database.ts).
  'src/services/sqlite/PendingMessageStore': 'pending-message-store.ts',
  // The agents / providers call Claude, Gemini or OpenRouter: the routes receive leaksim's agent.
  'src/services/worker/SDKAgent': 'providers.ts',
  'src/services/worker/GeminiAgent': 'providers.ts',
  'src/services/worker/OpenRouterAgent': 'providers.ts',
  'src/services/worker/ClaudeProvider': 'providers.ts',
  'src/services/worker/GeminiProvider': 'providers.ts',
  'src/services/worker/OpenRouterProvider': 'providers.ts',
  // Sends usage events to PostHog.
  'src/services/telemetry/buffer': 'telemetry.ts',
};

/** The files leaksim imports from a checkout, by name, when the checkout has them (the first two it must have). */
export const ENTRY_FILES: Readonly<Record<string, string>> = {
  sessionManager: 'src/services/worker/SessionManager.ts',
  sessionRoutes: 'src/services/worker/http/routes/SessionRoutes.ts',
  settings: 'src/shared/SettingsDefaultsManager.ts',
  completion: 'src/services/worker/session/SessionCompletionHandler.ts',
  ingest: 'src/services/worker/http/shared.ts',
  tagStripping: 'src/utils/tag-stripping.ts',
};

/** The entry files a checkout has, by name. */
export function entryFiles(root: string): Record<string, string> {
  return Object.fromEntries(Object.entries(ENTRY_FILES).filter(([, file]) => existsSync(join(root, file))));
}

/** The stand-ins a checkout gets, by path inside it (without extension). */
function roleStandIns(root: string): Record<string, string> {
  return Object.fromEntries(Object.entries(ROLE_STAND_INS).filter(([path]) => ['.ts', '.tsx', '.js'].some((extension) => existsSync(join(root, `${path}${extension}`)))));
}

/**
 * The files that make up a checkout's session path (relative to it, sorted) and the packages it
 * imports that are not installed: what leaksim loads from it. Two checkouts with the same files
 * (the same content) give the same runs.
 */
export function checkoutSessionPath(root: string): SessionPath {
  return sessionPath(root, Object.values(entryFiles(root)), new Set(Object.keys(roleStandIns(root))));
}

/**
 * Node's own dynamic import, through tsx (which compiles claude-mem's TypeScript as it is): tsx's
 * `tsImport` runs in Node's loader, out of reach of a bundler that rewrites `import()` (vitest's).
 * tsx itself is loaded only here, when a checkout is: leaksim's build starts without it.
 */
const nativeImport = async (url: string): Promise<Record<string, unknown>> => (await (await import('tsx/esm/api')).tsImport(url, import.meta.url)) as Record<string, unknown>;
let isolation: ClaudeMemIsolation | undefined;
const registeredRoots = new Set<string>();
const loaded = new Map<string, Promise<Record<string, Record<string, unknown>>>>();

export interface ClaudeMemIsolation {
  /** The one temporary folder everything lives in; removed when the process exits. */
  readonly folder: string;
  readonly home: string;
  readonly dataDir: string;
  readonly tmp: string;
}

/** The environment variables `isolateClaudeMem` points into its folder. */
export function isolatedEnvironment(folder: string): Record<string, string> {
  const home = join(folder, 'home');
  return {
    HOME: home,
    USERPROFILE: home,
    TMPDIR: join(folder, 'tmp'),
    TMP: join(folder, 'tmp'),
    TEMP: join(folder, 'tmp'),
    CLAUDE_MEM_DATA_DIR: join(home, '.claude-mem'),
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
  };
}

/**
 * Creates the temporary folder claude-mem runs in and points this process's home, temporary folder
 * and claude-mem's data directory into it (once per process; removed at exit). The data directory
 * holds an empty settings file: claude-mem takes its defaults (13.x would otherwise write them
 * there and say so). `parent` is the folder to create it in (by default the system's).
 */
export function isolateClaudeMem(parent = tmpdir()): ClaudeMemIsolation {
  if (!isolation) {
    // A child forked by isolation.ts is given its folder (created and removed by its parent).
    const given = process.env.LEAKSIM_CLAUDE_MEM_FOLDER;
    const folder = given ?? mkdtempSync(join(parent, 'leaksim-claude-mem-'));
    process.on('exit', () => rmSync(folder, { recursive: true, force: true }));
    const environment = isolatedEnvironment(folder);
    for (const path of [environment.TMPDIR!, environment.CLAUDE_MEM_DATA_DIR!, environment.CLAUDE_CONFIG_DIR!, join(folder, 'stand-ins')]) mkdirSync(path, { recursive: true });
    writeFileSync(join(environment.CLAUDE_MEM_DATA_DIR!, 'settings.json'), '{}\n');
    Object.assign(process.env, environment);
    isolation = { folder, home: environment.HOME!, dataDir: environment.CLAUDE_MEM_DATA_DIR!, tmp: environment.TMPDIR! };
  }
  return isolation;
}

/** Imports claude-mem's modules from the checkout (once per checkout and process). */
export function loadClaudeMem(checkout: ClaudeMemCheckout): Promise<Record<string, Record<string, unknown>>> {
  let modules = loaded.get(checkout.root);
  if (!modules) {
    modules = importModules(checkout);
    loaded.set(checkout.root, modules);
  }
  return modules;
}

/** A module exporting `names`: each from `implementation` when it has it, else an inert value. */
function generatedStandIn(names: readonly string[], label: string, implementation: string | undefined): string {
  const lines = [`import { inert } from ${JSON.stringify(standIn('inert.ts'))};`];
  lines.push(implementation ? `import * as implementation from ${JSON.stringify(implementation)};` : 'const implementation = {};');
  const pick = (name: string) => `(${JSON.stringify(name)} in implementation ? implementation[${JSON.stringify(name)}] : inert(${JSON.stringify(`${label}.${name}`)}))`;
  for (const name of names) {
    if (name === 'default') lines.push(`export default ${pick('default')};`);
    else if (name !== '*') lines.push(`export const ${name} = ${pick(name)};`);
  }
  if (names.includes('*') && !names.includes('default')) lines.push(`export default ${pick('default')};`);
  return lines.join('\n') + '\n';
}

/** Writes the generated stand-ins for a checkout; returns the redirects for the resolution hook. */
function standInRedirects(checkout: ClaudeMemCheckout, folder: string, index: number): Record<string, string> {
  const redirects: Record<string, string> = {};
  let count = 0;
  const write = (source: string): string => {
    const file = join(folder, `stand-in-${index}-${(count += 1)}.mjs`);
    writeFileSync(file, source);
    return pathToFileURL(file).href;
  };
  for (const [path, file] of Object.entries(roleStandIns(checkout.root))) {
    const real = ['.ts', '.tsx', '.js'].map((extension) => join(checkout.root, `${path}${extension}`)).find((candidate) => existsSync(candidate))!;
    redirects[path] = write(generatedStandIn(exportNames(real), path, standIn(file)));
  }
  for (const [specifier, names] of Object.entries(checkoutSessionPath(checkout.root).missingPackages)) {
    redirects[specifier] = write(generatedStandIn(names, specifier, undefined));
  }
  return redirects;
}

async function importModules(checkout: ClaudeMemCheckout): Promise<Record<string, Record<string, unknown>>> {
  const folder = join(isolateClaudeMem().folder, 'stand-ins');
  const index = registeredRoots.size + 1;
  if (!registeredRoots.has(checkout.root)) {
    registeredRoots.add(checkout.root);
    register(new URL('./resolve-hook.mjs', import.meta.url).href, { data: { root: checkout.root, redirects: standInRedirects(checkout, folder, index) } });
  }
  // One entry module, imported once: claude-mem's modules must share one instance of each module
  // they import (13.x wires its ingest helpers through module state), and each tsx import is separate.
  const entry = join(folder, `entry-${index}.mjs`);
  const files = Object.entries(entryFiles(checkout.root));
  writeFileSync(entry, files.map(([name, file]) => `export * as ${name} from ${JSON.stringify(pathToFileURL(join(checkout.root, file)).href)};`).join('\n') + '\n');
  return (await nativeImport(pathToFileURL(entry).href)) as Record<string, Record<string, unknown>>;
}
