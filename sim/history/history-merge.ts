/**
 * Joining the report folders of a sharded history (`history --shard i/n` on n machines) into the
 * report of the history run whole. Shard i of n holds releases i−1, i−1+n, … of the plan, each with
 * all its runs in summary.json; taking one release from each shard in turn restores the order, and
 * the timeline is built again from them: the same bytes as the unsharded run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/input-error.ts';
import { HISTORY_REPORT_FORMAT } from './history-report.ts';
import { buildTimeline, type Timeline, type TimelineInput, type TimelineRelease } from './timeline.ts';

/** summary.json files larger than this are not a history's (≈ 230 releases × a few runs is well under). */
const MAX_SUMMARY_BYTES = 64 * 2 ** 20;

interface ShardSummary {
  readonly file: string;
  readonly input: TimelineInput;
  readonly shard: { readonly index: number; readonly count: number; readonly releases: number; readonly plan: string };
  readonly releases: readonly TimelineRelease[];
}

/** Whether `dir` holds the report of a `history` run (what `leaksim merge` asks first). */
export function isHistoryReport(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { command?: unknown }).command === 'history';
  } catch {
    return false;
  }
}

function readShard(dir: string): ShardSummary {
  const file = join(dir, 'summary.json');
  let body: { leaksimHistory?: unknown; command?: unknown; input?: TimelineInput; shard?: ShardSummary['shard'] | null; releases?: unknown };
  try {
    const text = readFileSync(file, 'utf8');
    if (text.length > MAX_SUMMARY_BYTES) throw new InputError(file, 0, '', `is larger than ${MAX_SUMMARY_BYTES} bytes: not a history report`);
    body = JSON.parse(text) as typeof body;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(file, 0, '', `cannot be read as JSON (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (body.leaksimHistory !== HISTORY_REPORT_FORMAT) throw new InputError(file, 0, 'leaksimHistory', `is ${JSON.stringify(body.leaksimHistory)}; this leaksim merges history format ${HISTORY_REPORT_FORMAT}`);
  if (body.command !== 'history') throw new InputError(file, 0, 'command', `is ${JSON.stringify(body.command)}; expected the report of a history --shard run`);
  if (!body.shard) throw new InputError(file, 0, 'shard', 'is null: this is not the report of a history --shard run');
  if (!Array.isArray(body.releases) || !body.input) throw new InputError(file, 0, 'releases', 'must be a list');
  return { file, input: body.input, shard: body.shard, releases: body.releases as TimelineRelease[] };
}

export function mergeHistoryShards(dirs: readonly string[]): Timeline {
  if (dirs.length === 0) throw new InputError('leaksim merge', 0, '', 'expected the report folders of every shard');
  const shards = dirs.map(readShard);
  const first = shards[0]!;
  const count = first.shard.count;
  for (const shard of shards) {
    if (shard.shard.plan !== first.shard.plan || shard.shard.count !== count) {
      throw new InputError(shard.file, 0, 'shard', `is shard ${shard.shard.index}/${shard.shard.count} of plan ${shard.shard.plan}; ${first.file} is of plan ${first.shard.plan} in ${count} shards: not the same history`);
    }
  }
  const byIndex = new Map<number, ShardSummary>();
  for (const shard of shards) {
    if (byIndex.has(shard.shard.index)) throw new InputError(shard.file, 0, 'shard', `${shard.shard.index}/${count} is given twice (also ${byIndex.get(shard.shard.index)!.file})`);
    byIndex.set(shard.shard.index, shard);
  }
  const missing = Array.from({ length: count }, (_, index) => index + 1).filter((index) => !byIndex.has(index));
  if (missing.length > 0) throw new InputError('leaksim merge', 0, '', `shard${missing.length === 1 ? '' : 's'} ${missing.map((index) => `${index}/${count}`).join(', ')} of history plan ${first.shard.plan} missing`);
  const releases: TimelineRelease[] = [];
  for (let position = 0; position < first.shard.releases; position += 1) {
    const shard = byIndex.get((position % count) + 1)!;
    const release = shard.releases[Math.floor(position / count)];
    if (!release) throw new InputError(shard.file, 0, 'releases', `holds ${shard.releases.length} releases; the plan gives it more`);
    releases.push(release);
  }
  return buildTimeline(first.input, releases, null);
}
