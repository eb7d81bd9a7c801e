/**
 * `leaksim import claude-code <files or dirs...> --out FILE`: Claude Code transcripts to a
 * traffic file. A thin shell over sim/import/claude-code.ts and the traffic writer.
 */
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { realpathSync } from 'node:fs';
import { InputError } from '../../src/input-error.ts';
import { importClaudeCode } from '../import/claude-code.ts';
import { checkOutputFile } from '../report/report-folder.ts';
import { resolveHashKey, writeTrafficFile } from '../traffic-file/writer.ts';
import type { Output } from './output.ts';
import { parseOptions } from './shared.ts';

const USAGE = `usage: leaksim import claude-code <transcript.jsonl or directory>... --out FILE [options]

Rebuilds the hook traffic a claude-mem worker would have seen from Claude Code transcripts.
Directories (e.g. ~/.claude/projects) are searched recursively for *.jsonl.

options:
  --out FILE        traffic file to write (replaced only when the import succeeds)
  --skip-bad        skip corrupt lines, unknown record types and records without timestamps,
                    and report how many (default: the first one is an error)
  --keep-content    keep prompts, tool input/output and replies in the file
                    (default: sizes and an HMAC-SHA256 of the content only)
  --force           replace --out if it exists (default: refuse)
  --hash-key KEY    HMAC key (default: $LEAKSIM_HASH_KEY, else a random key for this run only,
                    so hashes are comparable within this file only)
  -h, --help        show this help`;

const WHERE = 'leaksim import';

export async function importCommand(args: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseOptions('import', args, {
    out: { type: 'string' },
    'skip-bad': { type: 'boolean', default: false },
    'keep-content': { type: 'boolean', default: false },
    'hash-key': { type: 'string' },
    force: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    output.out(USAGE);
    return 0;
  }
  const [source, ...paths] = positionals;
  if (source !== 'claude-code') throw new InputError(WHERE, 0, '', `${source === undefined ? 'needs a source' : `does not know the source '${source}'`}; the one source is 'claude-code'`);
  if (paths.length === 0) throw new InputError(WHERE, 0, '', 'needs at least one transcript file or directory');
  if (values.out === undefined) throw new InputError(WHERE, 0, '--out', 'is required');
  checkOutputFile(values.out, values.force, { command: WHERE, flag: '--out' });
  refuseOutputAmongInputs(values.out, paths.map(expandHome));

  const keepContent = values['keep-content'];
  const result = importClaudeCode(paths.map(expandHome), { strict: !values['skip-bad'], keepContent });
  if (result.events.length === 0) {
    const why = result.skipped > 0 ? `all ${result.skipped} line${result.skipped === 1 ? ' was' : 's were'} skipped as bad (are these Claude Code transcripts?)` : 'they hold no session records';
    throw new InputError(WHERE, 0, '', `found no hook events in ${result.files.length} transcript file${result.files.length === 1 ? '' : 's'}: ${why}; nothing written`);
  }
  const hashKey = resolveHashKey(values['hash-key'], process.env);
  try {
    // Every line checked by replay's own line reader as it is written: what import writes, replay reads.
    writeTrafficFile(values.out, result.header, result.events, { hashKey: hashKey.key, validateAs: `${values.out} (as import would write it)` });
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new InputError(WHERE, 0, '--out', `${JSON.stringify(values.out)} could not be written (${code}); nothing was replaced`);
    throw error;
  }

  for (const problem of result.problems) output.err(`leaksim: skipped ${problem.message}`);
  if (result.skipped > result.problems.length) output.err(`leaksim: skipped ${result.skipped - result.problems.length} more bad lines`);
  const counts = (['session-start', 'prompt', 'tool-use', 'stop'] as const).map((kind) => `${result.counts[kind]} ${kind}`).join(', ');
  const privacy = keepContent ? 'content kept' : hashKey.given ? 'content hashed with the given key' : 'content hashed with a random key';
  output.out(
    `imported ${result.events.length} events from ${result.files.length} transcripts into ${values.out} (${counts}; ${result.skipped} bad lines skipped; ${privacy})`,
  );
  return 0;
}

/** --out that is one of the transcripts read (or inside a folder read) would overwrite an input: refused, whatever --force says. */
function refuseOutputAmongInputs(out: string, inputs: readonly string[]): void {
  const target = realOrResolved(out);
  for (const input of inputs) {
    const source = realOrResolved(input);
    if (target === source || target.startsWith(`${source}${sep}`)) {
      throw new InputError(WHERE, 0, '--out', `${JSON.stringify(out)} is ${target === source ? 'one of the transcripts it reads' : `inside ${JSON.stringify(input)}, a folder it reads`}: give an output file apart from the inputs`);
    }
  }
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** `~/x` as typed inside quotes, where the shell did not expand it. */
function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}
