/**
 * Reading heap snapshots with memlab: what the heap gate measures at each checkpoint.
 *
 * Snapshots are written by the probe (`v8.writeHeapSnapshot` at paths it chooses, so no
 * `Math.random` file names) and read here, after the simulation, with memlab's Node API:
 * `utils.getSnapshotFromFile` parses, `analysis.preparePathFinder` annotates shortest paths from
 * the GC roots and computes dominators and retained sizes, `TraceFinder.getPathToGCRoots` and
 * `serializer.summarizePath` turn one object's retainers into text.
 *
 * What is counted, by how it looks in the heap:
 * - sessions and history messages: objects matching what the target declares (`description.heap`,
 *   src/contract.ts): a constructor name, or a shape (a plain object whose own properties are
 *   exactly the given ones). The built-ins declare `ActiveSession` (the reference) or
 *   `LeakySession` (the leaky implementation), and `{ role, content }` literals for messages;
 * - the session manager: the retained size of the `SessionManager` / `LeakySessionManager` object;
 * - total heap: the retained size of the snapshot's root, i.e. everything reachable.
 * memlab is imported lazily: the probe loads it only after its last snapshot, so its own objects
 * are never in what it measures.
 */
import type { IHeapNode, IHeapSnapshot } from '@memlab/core';
import type { HeapMatcher } from '../../src/contract.ts';

/** How sessions and history messages are recognised: what a target declares (`description.heap`). */
export interface HeapMatchers {
  readonly session: HeapMatcher;
  readonly historyMessage: HeapMatcher;
}

/** Constructor names of the session managers of the built-in targets. */
export const MANAGER_CLASSES: readonly string[] = ['SessionManager', 'LeakySessionManager'];
/** The kind name a history message is reported under (it has no class of its own). */
export const MESSAGE_KIND = 'ConversationMessage {role, content}';
/** The grown kinds a report lists, largest growth first. */
export const GROWN_KINDS_MAX = 10;

export interface CheckpointMeasure {
  /** Run time of the checkpoint (ms from the origin). */
  readonly atMs: number;
  readonly snapshotBytes: number;
  readonly sessionObjects: number;
  readonly sessionRetainedBytes: number;
  readonly historyMessageObjects: number;
  readonly historyMessageRetainedBytes: number;
  readonly managerRetainedBytes: number;
  readonly totalHeapBytes: number;
}

/** One kind of object (a constructor name, or `(string)`, `(array)`…) at two checkpoints. */
export interface KindGrowth {
  readonly kind: string;
  readonly firstCount: number;
  readonly lastCount: number;
  readonly firstBytes: number;
  readonly lastBytes: number;
}

export interface RetainerPath {
  /** The session object the path leads to, as memlab names it (`LeakySession @1234`). */
  readonly object: string;
  /** The first checkpoint it was in memory at (it has been held since, at least). */
  readonly heldSinceMs: number;
  /** Whether its shortest path from the roots avoids the manager's own session maps (a timer, listener or closure holds it). */
  readonly outsideManagerMaps: boolean;
  /**
   * What holds it, told from what the path passes through, nearest the session first: "a Map
   * (SessionStore.sessions)", "a listener (AbortSignal)", "a timer (Timeout)", "a closure (onIdle)",
   * else the object that holds it. Named the same for any target, leaksim's or an adapter's.
   */
  readonly heldThrough: string;
  /** memlab's summary of the path, GC root first, one node or edge per line. */
  readonly text: string;
}

export interface SnapshotAnalysis {
  readonly measures: readonly CheckpointMeasure[];
  /** Kinds whose self size grew from the first judged checkpoint to the last. */
  readonly grownKinds: readonly KindGrowth[];
  /** Retainer path of a session object held from the first judged checkpoint to the last, if any. */
  readonly retainerPath: RetainerPath | null;
}

export interface SnapshotFile {
  readonly atMs: number;
  readonly file: string;
  readonly bytes: number;
}

interface Histogram {
  readonly count: Map<string, number>;
  readonly bytes: Map<string, number>;
}

type Memlab = typeof import('@memlab/core');

/**
 * Measures every snapshot, in order. `firstJudged` is the index of the first checkpoint after the
 * warm-up: grown kinds and the held session are taken from it to the last one.
 */
export async function analyseSnapshots(files: readonly SnapshotFile[], firstJudged: number, matchers: HeapMatchers): Promise<SnapshotAnalysis> {
  // memlab is CommonJS whose exports Node's ES-module import sees only as `default` (tsx and
  // vitest also copy them onto the namespace): take them from there when they are.
  const loaded = (await import('@memlab/core')) as Memlab & { default?: Memlab };
  const memlab: Memlab = loaded.default?.config ? loaded.default : loaded;
  memlab.config.muteConsole = true;
  const measures: CheckpointMeasure[] = [];
  let firstHistogram: Histogram | undefined;
  let lastHistogram: Histogram | undefined;
  let firstSessionIds = new Set<number>();
  /** Checkpoint time at which each session object was first seen (heap ids are stable within a process). */
  const firstSeenMs = new Map<number, number>();
  let retainerPath: RetainerPath | null = null;
  for (const [index, snapshotFile] of files.entries()) {
    const snapshot = await memlab.utils.getSnapshotFromFile(snapshotFile.file, { buildNodeIdIndex: true });
    const last = index === files.length - 1;
    // Retained sizes need dominators in every snapshot; shortest paths only in the last one.
    const finder = new memlab.TraceFinder();
    if (last) memlab.analysis.preparePathFinder(snapshot);
    else finder.calculateAllNodesRetainedSizes(snapshot);
    const { measure, histogram, sessionIds } = measureSnapshot(snapshot, snapshotFile, matchers);
    measures.push(measure);
    for (const id of sessionIds) if (!firstSeenMs.has(id)) firstSeenMs.set(id, snapshotFile.atMs);
    if (index === firstJudged) {
      firstHistogram = histogram;
      firstSessionIds = sessionIds;
    }
    if (last) {
      lastHistogram = histogram;
      retainerPath = leakedSessionPath(memlab, snapshot, finder, sessionIds, index > firstJudged ? firstSessionIds : new Set(), firstSeenMs);
    }
  }
  return { measures, grownKinds: firstHistogram && lastHistogram ? grownKinds(firstHistogram, lastHistogram) : [], retainerPath };
}

/** Edges by which a manager holds its own sessions: a path through one of them is the manager's map. */
const MANAGER_MAP_EDGES = new Set(['#sessions', '#idle', '#running', '#restarts']);

/**
 * The retainer path of the session that best shows a leak: first one held since the first judged
 * checkpoint by something other than the manager's own maps (a timer, a listener, a closure);
 * then any held since then (days old: the map kept it past its TTL); then one held outside the
 * maps now. Held-since-then comes first because a live session is often reached through a
 * running generator's closure too. Null when no session qualifies.
 */
function leakedSessionPath(
  memlab: Memlab,
  snapshot: IHeapSnapshot,
  finder: InstanceType<Memlab['TraceFinder']>,
  sessionIds: ReadonlySet<number>,
  heldIds: ReadonlySet<number>,
  firstSeenMs: ReadonlyMap<number, number>,
): RetainerPath | null {
  const candidates: { id: number; held: boolean; outside: boolean; path: NonNullable<ReturnType<typeof finder.getPathToGCRoots>> }[] = [];
  for (const id of [...sessionIds].sort((a, b) => a - b)) {
    const node = snapshot.getNodeById(id);
    const path = node ? finder.getPathToGCRoots(snapshot, node) : null;
    if (!path) continue;
    let outside = true;
    for (let step: typeof path | undefined = path; step; step = step.next) if (step.edge && MANAGER_MAP_EDGES.has(String(step.edge.name_or_index))) outside = false;
    candidates.push({ id, held: heldIds.has(id), outside, path });
  }
  const best = candidates.find((c) => c.outside && c.held) ?? candidates.find((c) => c.held) ?? candidates.find((c) => c.outside);
  if (!best) return null;
  const node = snapshot.getNodeById(best.id)!;
  const text = memlab.serializer.summarizePath(best.path, new memlab.NumericSet(), snapshot, { color: false }).trimEnd();
  return { object: `${node.name} @${node.id}`, heldSinceMs: firstSeenMs.get(best.id)!, outsideManagerMaps: best.outside, heldThrough: heldThrough(best.path), text };
}

interface PathStep {
  readonly node?: { readonly name: string; readonly type: string } | null;
  readonly edge?: { readonly name_or_index: string | number } | null;
  readonly next?: PathStep | null;
}

/**
 * What holds the session at the end of `path` (GC root first), from what the path passes through
 * nearest the session: a Map or Set (named by its owner and the field that holds it), a listener,
 * a timer, or a closure (and then what holds the closure). memlab gives each step the edge by
 * which its node holds the next one.
 */
function heldThrough(path: PathStep): string {
  const steps: PathStep[] = [];
  for (let step: PathStep | null | undefined = path; step; step = step.next) steps.push(step);
  // Nearest the session first; the session itself (the last step) is left out.
  const holders = steps.slice(0, -1).reverse();
  const describe = (index: number): string | undefined => {
    const node = holders[index]!.node;
    const name = node?.name ?? '';
    if (name === 'Map' || name === 'Set' || name === 'WeakMap') {
      const owner = holders[index + 1];
      const field = owner?.edge?.name_or_index;
      return `a ${name}${owner?.node && field !== undefined ? ` (${owner.node.name}.${String(field)})` : ''}`;
    }
    if (/Listener|AbortSignal|EventTarget|EventEmitter/.test(name)) return `a listener (${name})`;
    if (/^(Timeout|Timer|Immediate|TimersList)$/.test(name)) return `a timer (${name})`;
    if (node?.type === 'closure') return `a closure (${name || 'anonymous'})`;
    return undefined;
  };
  for (let index = 0; index < holders.length; index += 1) {
    const found = describe(index);
    if (!found) continue;
    if (!found.startsWith('a closure')) return found;
    // A closure is held by something: say what, when the path shows it.
    for (let outer = index + 1; outer < holders.length; outer += 1) {
      const container = describe(outer);
      if (container && !container.startsWith('a closure')) return `${found} in ${container}`;
    }
    return found;
  }
  const nearest = holders.find((step) => step.node?.type === 'object')?.node?.name;
  return nearest ? `an object (${nearest})` : 'the GC roots';
}

function measureSnapshot(snapshot: IHeapSnapshot, file: SnapshotFile, matchers: HeapMatchers): { measure: CheckpointMeasure; histogram: Histogram; sessionIds: Set<number> } {
  const isSession = nodeMatcher(matchers.session);
  const isMessage = nodeMatcher(matchers.historyMessage);
  const histogram: Histogram = { count: new Map(), bytes: new Map() };
  const sessionIds = new Set<number>();
  let sessionObjects = 0;
  let sessionRetainedBytes = 0;
  let historyMessageObjects = 0;
  let historyMessageRetainedBytes = 0;
  let managerRetainedBytes = 0;
  snapshot.nodes.forEach((node: IHeapNode) => {
    let kind: string;
    if (node.type === 'object') {
      kind = node.name;
      if (isSession(node)) {
        sessionObjects += 1;
        sessionRetainedBytes += node.retainedSize;
        sessionIds.add(node.id);
      } else if (MANAGER_CLASSES.includes(node.name)) {
        managerRetainedBytes += node.retainedSize;
      } else if (isMessage(node)) {
        kind = MESSAGE_KIND;
        historyMessageObjects += 1;
        historyMessageRetainedBytes += node.retainedSize;
      }
    } else if (node.type === 'closure') {
      kind = `${node.name || '(anonymous)'} (closure)`;
    } else {
      kind = `(${node.type})`;
    }
    histogram.count.set(kind, (histogram.count.get(kind) ?? 0) + 1);
    histogram.bytes.set(kind, (histogram.bytes.get(kind) ?? 0) + node.self_size);
  });
  const root = snapshot.nodes.get(0);
  const measure: CheckpointMeasure = {
    atMs: file.atMs,
    snapshotBytes: file.bytes,
    sessionObjects,
    sessionRetainedBytes,
    historyMessageObjects,
    historyMessageRetainedBytes,
    managerRetainedBytes,
    totalHeapBytes: root ? root.retainedSize : 0,
  };
  return { measure, histogram, sessionIds };
}

/**
 * A matcher as a test on heap objects: by constructor name, or by shape (a plain object whose own
 * properties are exactly the given ones, as the `{ role, content }` ConversationMessage literal).
 */
function nodeMatcher(matcher: HeapMatcher): (node: IHeapNode) => boolean {
  if ('constructorName' in matcher) return (node) => node.name === matcher.constructorName;
  const wanted = new Set(matcher.properties);
  return (node) => node.name === 'Object' && hasExactlyProperties(node, wanted);
}

function hasExactlyProperties(node: IHeapNode, wanted: ReadonlySet<string>): boolean {
  // A few other edges come beside the properties: the prototype, the map, out-of-object property
  // storage, elements and hidden slots (a larger object literal, such as claude-mem's sessions, has them all).
  if (node.edge_count < wanted.size || node.edge_count > wanted.size + 6) return false;
  let found = 0;
  for (const edge of node.references) {
    if (edge.type !== 'property' || edge.name_or_index === '__proto__') continue;
    if (!wanted.has(String(edge.name_or_index))) return false;
    found += 1;
  }
  return found === wanted.size;
}

/** V8's own kinds (compiled code, hidden classes, roots): they grow with the JIT, not with the target. */
const ENGINE_KINDS = new Set(['(code)', '(hidden)', '(synthetic)', '(object shape)']);

function grownKinds(first: Histogram, last: Histogram): KindGrowth[] {
  const kinds: KindGrowth[] = [];
  for (const [kind, lastBytes] of last.bytes) {
    if (ENGINE_KINDS.has(kind)) continue;
    const firstBytes = first.bytes.get(kind) ?? 0;
    const firstCount = first.count.get(kind) ?? 0;
    const lastCount = last.count.get(kind) ?? 0;
    if (lastBytes > firstBytes && lastCount > firstCount) kinds.push({ kind, firstCount, lastCount, firstBytes, lastBytes });
  }
  return kinds.sort((a, b) => b.lastBytes - b.firstBytes - (a.lastBytes - a.firstBytes) || (a.kind < b.kind ? -1 : 1)).slice(0, GROWN_KINDS_MAX);
}
