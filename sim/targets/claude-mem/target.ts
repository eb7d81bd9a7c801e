/**
 * `--target claude-mem:<path>`: claude-mem's own session manager from a checkout, with what each
 * layout declares about itself (docs/claude-mem.md explains every declaration from claude-mem's
 * source).
 */
import type { TargetDescription, TargetFactory } from '../../../src/contract.ts';
import { PendingStore } from '../../../src/pending-store.ts';
import { MINUTE_MS } from '../../../src/settings.ts';
import { ClaudeMemDatabase } from './database.ts';
import { InputError } from '../../../src/input-error.ts';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BUFFER_FILE, eraOf, misfit, QUEUE_PROCESSOR_FILE, readCheckout, ROUTES_FILE, type ClaudeMemCheckout, type LayoutName, type QueueKind } from './layout.ts';
import { ENTRY_FILES, entryFiles, loadClaudeMem } from './load.ts';
import { finallyAbortsController, numericConstant, stringSetConstant } from './structure.ts';
import { leaksimModule, PACKAGE_ROOT } from '../../engine/package-root.ts';
import { Wiring } from './wiring.ts';
import { claudeMemLoadsHere, forkIsolated } from './isolation.ts';
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
function heapMatchers(modules: Record<string, Record<string, unknown>>, layout: LayoutName, wiring: Wiring): NonNullable<TargetDescription['heap']> {
  const database = new ClaudeMemDatabase(new PendingStore());
  const sessionDbId = database.createSDKSession('leaksim-shape', 'leaksim', 'leaksim');
  const manager = wiring.construct<{ initializeSession(sessionDbId: number): object }>(modules.sessionManager!.SessionManager, ENTRY_FILES.sessionManager!, 'SessionManager', { database });
  const session = manager.initializeSession(sessionDbId);
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

/** The save hook of a release before 8.x filtered tools itself (`SKIP_TOOLS` in src/hooks/save-hook.ts); later the routes do, by setting. */
export const HOOK_SKIP_TOOLS_FILE = 'src/hooks/save-hook.ts';

/**
 * The tools whose observations claude-mem skips: the `CLAUDE_MEM_SKIP_TOOLS` default of the
 * checkout's SettingsDefaultsManager (8.x onward, applied by the observation route), or before it
 * the save hook's own `SKIP_TOOLS` set (applied by the bridge, as the hook did before calling).
 */
function skippedToolsOf(checkout: ClaudeMemCheckout, modules: Record<string, Record<string, unknown>>): string[] {
  if (!modules.settings) {
    const hookTools = stringSetConstant(join(checkout.root, HOOK_SKIP_TOOLS_FILE), 'SKIP_TOOLS');
    if (!hookTools) throw new InputError('--target', 0, '', misfit(checkout, ENTRY_FILES.settings!, `is absent, and ${HOOK_SKIP_TOOLS_FILE} declares no SKIP_TOOLS set either`));
    return hookTools;
  }
  const settings = modules.settings.SettingsDefaultsManager as { getAllDefaults?(): Record<string, string> } | undefined;
  if (typeof settings?.getAllDefaults !== 'function') throw new InputError('--target', 0, '', misfit(checkout, ENTRY_FILES.settings!, 'has no SettingsDefaultsManager.getAllDefaults'));
  const defaults = settings.getAllDefaults();
  return (defaults.CLAUDE_MEM_SKIP_TOOLS ?? '').split(',').map((tool) => tool.trim()).filter(Boolean);
}

/**
 * The idle timeout after which claude-mem's message iterator ends a waiting generator, read from
 * the checkout's queue (`const IDLE_TIMEOUT_MS = 3 * 60 * 1000` in SessionQueueProcessor.ts from
 * 9.x, in SessionMessageBuffer.ts from 13.4); undefined when its generators wait for ever (8.x).
 */
function generatorIdleTimeoutMs(checkout: ClaudeMemCheckout): number | undefined {
  const file = checkout.queue === 'buffer' ? BUFFER_FILE : QUEUE_PROCESSOR_FILE;
  return numericConstant(join(checkout.root, file), 'IDLE_TIMEOUT_MS');
}

function describe(layout: LayoutName, queue: QueueKind, idleTimeoutMs: number | undefined, skippedTools: readonly string[], heap: NonNullable<TargetDescription['heap']>): TargetDescription {
  if (layout === '8.5') {
    return {
      pinnedPrompt: 'latest',
      // Before 8.x the queue is an array on the in-memory session, lost with the worker.
      queue: queue === 'array' ? 'memory' : 'persisted',
      // 9.x – 11.x: the iterator aborts a generator idle that long; the session stays in memory.
      ...(idleTimeoutMs !== undefined ? { fixedSettings: { generatorIdleTimeoutMs: idleTimeoutMs } } : {}),
      listenersPerSession: LISTENERS_PER_WAITING_GENERATOR,
      skippedTools,
      heap,
    };
  }
  return {
    pinnedPrompt: 'latest',
    // 12.x – 13.3 keep SQLite's pending_messages; 13.4 onward the in-memory buffer.
    queue: queue === 'sqlite' ? 'persisted' : 'memory',
    listenersPerSession: LISTENERS_PER_WAITING_GENERATOR,
    fixedSettings: { ttlMs: idleTimeoutMs ?? IDLE_TIMEOUT_13_MS, generatorIdleTimeoutMs: idleTimeoutMs ?? IDLE_TIMEOUT_13_MS },
    skippedTools,
    historyEmptyUntilGenerator: true,
    heap,
  };
}

export interface ClaudeMemTarget {
  readonly name: string;
  readonly checkout: ClaudeMemCheckout;
  /** The behavioural era (layout.ts `eraOf`): which expect file holds its verdicts. */
  readonly era: string;
  /** scenarios/expect/claude-mem-<era>.json, when leaksim has one for the era. */
  readonly defaultExpect?: { readonly file: string; readonly because: string };
  readonly factory: TargetFactory;
  readonly description: TargetDescription;
  /** Runs in an isolated child process (sim/runs/isolated/claude-mem.ts), never in this one. */
  readonly isolated?: true;
}

type DescribeReply =
  | { readonly kind: 'described'; readonly target: Omit<ClaudeMemTarget, 'factory'> }
  | { readonly kind: 'input-error'; readonly file: string; readonly line: number; readonly field: string; readonly problem: string }
  | { readonly kind: 'crash'; readonly message: string };

const describedTargets = new Map<string, Promise<ClaudeMemTarget>>();
const DESCRIBE_CHILD = leaksimModule('sim/targets/claude-mem/describe-child');

function describeInChild(name: string, source: string): Promise<ClaudeMemTarget> {
  const { child, console: printed, ended } = forkIsolated(DESCRIBE_CHILD, [name, source]);
  return new Promise<ClaudeMemTarget>((resolve, reject) => {
    let reply: DescribeReply | undefined;
    child.once('message', (message: DescribeReply) => {
      reply = message;
    });
    void ended.then(({ code, signal }) => {
      if (reply?.kind === 'described') {
        const factory: TargetFactory = () => {
          throw new Error(`leaksim: ${name} runs in a child process of its own (runScenarioIsolated), not in this one`);
        };
        resolve({ ...reply.target, factory, isolated: true });
      } else if (reply?.kind === 'input-error') reject(new InputError(reply.file, reply.line, reply.field, reply.problem));
      else {
        const why = reply?.kind === 'crash' ? reply.message : `the child loading it exited (${signal ?? `code ${code}`})${printed.kept.length ? `: ${printed.kept[printed.kept.length - 1]}` : ''}`;
        reject(new InputError(source, 0, '', `claude-mem checkout ${name.slice(CLAUDE_MEM_PREFIX.length)} could not be loaded: ${why}`));
      }
    });
  });
}

/**
 * Loads the checkout named by `claude-mem:<path>`; a bad checkout is one InputError naming the
 * release, the file and what did not fit. Outside an isolated child (isolation.ts) the checkout is
 * loaded and described in a child, and the target's runs go to children of their own
 * (`isolated: true`; sim/runs/isolated/claude-mem.ts): its factory is not for this process.
 */
export async function claudeMemTarget(name: string, source = '--target'): Promise<ClaudeMemTarget> {
  if (!claudeMemLoadsHere()) {
    readCheckout(name.slice(CLAUDE_MEM_PREFIX.length), source); // a bad path is refused here, before any child starts
    // Described once per process (a pool child resolves the target for each of its runs).
    let described = describedTargets.get(name);
    if (!described) {
      described = describeInChild(name, source);
      describedTargets.set(name, described);
      described.catch(() => describedTargets.delete(name));
    }
    return described;
  }
  const checkout = readCheckout(name.slice(CLAUDE_MEM_PREFIX.length), source);
  const modules = await loadClaudeMem(checkout);
  const wiring = new Wiring(checkout);
  for (const [name, file] of Object.entries(entryFiles(checkout.root))) {
    if (!modules[name]) throw new InputError(source, 0, '', misfit(checkout, file, 'did not load'));
  }
  const skippedTools = skippedToolsOf(checkout, modules);
  if (checkout.layout === '13') {
    for (const [name, exported] of [['completion', 'SessionCompletionHandler'], ['ingest', 'setIngestContext'], ['ingest', 'attachIngestGeneratorStarter']] as const) {
      if (modules[name]?.[exported] === undefined) throw new InputError(source, 0, '', misfit(checkout, ENTRY_FILES[name]!, `does not export ${exported}`));
    }
  }
  const factory: TargetFactory =
    checkout.layout === '8.5'
      ? (environment) =>
          new ClaudeMem8Target({ ...modules.sessionManager, ...modules.sessionRoutes, ...modules.tagStripping, wiring, queue: checkout.queue, hookSkippedTools: modules.settings ? undefined : skippedTools } as unknown as ClaudeMem8Modules, environment)
      : (environment) =>
          new ClaudeMem13Target({ ...modules.sessionManager, ...modules.sessionRoutes, ...modules.completion, ...modules.ingest, wiring, queue: checkout.queue } as unknown as ClaudeMem13Modules, environment);
  const heap = heapMatchers(modules, checkout.layout, wiring);
  const described = describe(checkout.layout, checkout.queue, generatorIdleTimeoutMs(checkout), skippedTools, heap);
  // A session without a conversationHistory (before 8.x; found on a session the checkout's own manager creates) has no first message to keep.
  const description: TargetDescription = (heap.session as { properties?: readonly string[] }).properties?.includes('conversationHistory')
    ? described
    : { ...described, invariantsOff: { 'init-prompt-kept': "claude-mem's ActiveSession keeps no conversationHistory (the agent SDK resumed its own session): there is no first message to keep" } };
  const era = eraOf(checkout, generatorIdleTimeoutMs(checkout), finallyAbortsController(join(checkout.root, ROUTES_FILE)));
  const expectFile = join(PACKAGE_ROOT, 'scenarios', 'expect', `claude-mem-${era}.json`);
  const defaultExpect = existsSync(expectFile)
    ? { file: relative(process.cwd(), expectFile) || expectFile, because: `claude-mem ${checkout.version} is of the ${era} era` }
    : undefined;
  return { name, checkout, era, ...(defaultExpect ? { defaultExpect } : {}), factory, description };
}
