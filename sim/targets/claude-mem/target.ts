/**
 * `--target claude-mem:<path>`: claude-mem's own session manager from a checkout, with what each
 * layout declares about itself (docs/claude-mem.md explains every declaration from claude-mem's
 * source).
 */
import type { TargetDescription, TargetFactory } from '../../../src/contract.ts';
import { PendingStore } from '../../../src/pending-store.ts';
import { MINUTE_MS } from '../../../src/settings.ts';
import { ClaudeMemDatabase } from './database.ts';
import { readCheckout, type ClaudeMemCheckout, type LayoutName } from './layout.ts';
import { loadClaudeMem } from './load.ts';
import { ClaudeMem13Target, type ClaudeMem13Modules } from './target-13.ts';
import { ClaudeMem8Target, type ClaudeMem8Modules } from './target-8.ts';

export const CLAUDE_MEM_PREFIX = 'claude-mem:';

/**
 * Properties claude-mem 13.x's routes add to every session whose generator they start
 * (SessionRoutes.applyTierRouting: `modelOverride`; startGeneratorWithProvider: `lastGeneratorSource`).
 */
const ROUTE_SESSION_PROPERTIES: Readonly<Record<LayoutName, readonly string[]>> = { '8.5': [], '13': ['modelOverride', 'lastGeneratorSource'] };

/**
 * How the heap gate finds claude-mem's sessions: an ActiveSession is a plain object literal, matched
 * by its exact own properties (those a snapshot shows), read from a session the checkout's own
 * SessionManager creates (so a commit that adds a field is followed), plus those the routes add.
 * History messages are the `{ role, content }` literals the agent appends.
 */
function heapMatchers(modules: Record<string, Record<string, unknown>>, layout: LayoutName): NonNullable<TargetDescription['heap']> {
  const database = new ClaudeMemDatabase(new PendingStore());
  const sessionDbId = database.createSDKSession('leaksim-shape', 'leaksim', 'leaksim');
  const SessionManager = modules.sessionManager!.SessionManager as new (database: unknown) => { initializeSession(sessionDbId: number): object };
  const session = new SessionManager(database).initializeSession(sessionDbId);
  // A heap snapshot shows a property only when its value is a heap object: V8 keeps small integers
  // inside the object, so the numeric fields (sessionDbId, startTime, token counts) are no edges.
  const properties = Object.entries(session).filter(([, value]) => typeof value !== 'number').map(([key]) => key);
  return {
    session: { properties: [...new Set([...properties, ...ROUTE_SESSION_PROPERTIES[layout]])] },
    historyMessage: { properties: ['role', 'content'] },
  };
}

/**
 * Listeners one session holds while its generator waits for work: claude-mem's `waitForMessage`
 * adds one `message` listener on the session's emitter and one `abort` listener on its signal,
 * and the agent adds one `abort` listener on the same signal (the SDK's query does too).
 */
const LISTENERS_PER_WAITING_GENERATOR = 3;

/** claude-mem 13.x ends a generator after 3 idle minutes (`SessionMessageBuffer` IDLE_TIMEOUT_MS) and then removes its session. */
export const IDLE_TIMEOUT_13_MS = 3 * MINUTE_MS;

function describe(layout: LayoutName, skippedTools: readonly string[], heap: NonNullable<TargetDescription['heap']>): TargetDescription {
  if (layout === '8.5') {
    return {
      pinnedPrompt: 'latest',
      queue: 'persisted',
      listenersPerSession: LISTENERS_PER_WAITING_GENERATOR,
      skippedTools,
      heap,
    };
  }
  return {
    pinnedPrompt: 'latest',
    queue: 'memory',
    listenersPerSession: LISTENERS_PER_WAITING_GENERATOR,
    fixedSettings: { ttlMs: IDLE_TIMEOUT_13_MS, generatorIdleTimeoutMs: IDLE_TIMEOUT_13_MS },
    skippedTools,
    historyEmptyUntilGenerator: true,
    heap,
  };
}

export interface ClaudeMemTarget {
  readonly name: string;
  readonly checkout: ClaudeMemCheckout;
  readonly factory: TargetFactory;
  readonly description: TargetDescription;
}

/** Loads the checkout named by `claude-mem:<path>`; a bad checkout is one InputError naming what is missing. */
export async function claudeMemTarget(name: string, source = '--target'): Promise<ClaudeMemTarget> {
  const checkout = readCheckout(name.slice(CLAUDE_MEM_PREFIX.length), source);
  const modules = await loadClaudeMem(checkout);
  const defaults = (modules.settings!.SettingsDefaultsManager as { getAllDefaults(): Record<string, string> }).getAllDefaults();
  const skippedTools = (defaults.CLAUDE_MEM_SKIP_TOOLS ?? '').split(',').map((tool) => tool.trim()).filter(Boolean);
  const factory: TargetFactory =
    checkout.layout === '8.5'
      ? (environment) => new ClaudeMem8Target({ ...modules.sessionManager, ...modules.sessionRoutes } as unknown as ClaudeMem8Modules, environment)
      : (environment) => new ClaudeMem13Target({ ...modules.sessionManager, ...modules.sessionRoutes, ...modules.completion, ...modules.ingest } as unknown as ClaudeMem13Modules, environment);
  return { name, checkout, factory, description: describe(checkout.layout, skippedTools, heapMatchers(modules, checkout.layout)) };
}
