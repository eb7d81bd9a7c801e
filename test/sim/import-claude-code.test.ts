import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import type { ToolUseEvent } from '../../sim/engine/events.ts';
import { importClaudeCode } from '../../sim/import/claude-code.ts';
import { openTrafficFile, readAllEvents } from '../../sim/traffic-file/reader.ts';
import { writeTrafficFile } from '../../sim/traffic-file/writer.ts';
import { sharedData } from '../helpers/shared-data.ts';

const TRANSCRIPTS = sharedData('data/claude-code-transcripts/', 'the tests on real Claude Code transcripts');
const SHARED = TRANSCRIPTS.path;
const INIT_SESSION = join(SHARED, '1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl');
const ORCHESTRATOR_SESSION = join(SHARED, '5c0375b4-57a5-4f26-b12d-d022ee4e51b7.jsonl');
const BAD_LINES = new URL('../fixtures/traffic/claude-code/bad-lines.jsonl', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'leaksim-import-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KEY = Buffer.from('test-key');

describe.skipIf(!TRANSCRIPTS.available)('the shared real transcripts', () => {
  /*
   * Expected counts, derived by reading the two files line by line:
   *
   * 1af7fc5e (29 lines, one session, /init):
   *   - prompt: line 1 (main-thread user text "<command-message>init is analyzing…"); line 2 is isMeta. → 1
   *   - tool results: lines 5, 11–15, 19–21, 23, 26, 28 = 12; line 26 (Write) is is_error. → 11 tool uses
   *   - stop: one turn, last main-thread assistant record is line 29. → 1
   *   - session start: 1.  Total 14.
   * 5c0375b4 (53 lines, one session, /orchestrator with two Task subagents):
   *   - prompt: line 1; line 2 is isMeta; lines 16 and 26 are sidechain user texts (subagent prompts). → 1
   *   - tool results: 5, 9–11, 15, 19, 21, 23, 24, 29, 31, 33, 35, 37, 39, 41, 43, 46, 48, 50, 52 = 21;
   *     errors at 15 (Task), 33 (Bash, sidechain), 46 (Edit). → 18 tool uses, 7 of them sidechain
   *     (19, 21, 29, 31, 35, 37, 39)
   *   - stop: last main-thread assistant record is line 53. → 1
   *   - session start: 1.  Total 21.
   * Split messages: assistant lines share message.id (e.g. lines 6–10 of 1af7fc5e are one message with
   * five tool_use blocks); merging must not change these counts.
   */
  let result: ReturnType<typeof importClaudeCode>;
  beforeAll(() => {
    result = importClaudeCode([SHARED]);
  });

  it('finds both transcripts in the directory and counts each kind exactly', () => {
    expect(result.files).toEqual([INIT_SESSION, ORCHESTRATOR_SESSION]);
    expect(result.counts).toEqual({ 'session-start': 2, prompt: 2, 'tool-use': 29, stop: 2, 'session-end': 0, 'worker-restart': 0, sleep: 0 });
    expect(result.events).toHaveLength(35);
    expect(result.skipped).toBe(0);
    const perSession = (session: string) => result.events.filter((event) => 'session' in event && event.session.startsWith(session)).length;
    expect([perSession('1af7fc5e'), perSession('5c0375b4')]).toEqual([14, 21]);
  });

  it('counts sidechain tool uses and leaves out errors', () => {
    const orchestratorTools = result.events.filter((event): event is ToolUseEvent => event.kind === 'tool-use' && event.session.startsWith('5c0375b4')).map((event) => event.toolName);
    // In time order; the comments give each result's line in the file.
    expect(orchestratorTools).toEqual([
      'TodoWrite', 'Glob', 'Glob', 'TodoWrite', // lines 5, 9, 10, 11
      'Glob', 'Read', // sidechain, lines 19, 21
      'Task', 'TodoWrite', // lines 23, 24
      'Bash', 'Bash', 'Bash', 'Read', 'Bash', // sidechain, lines 29, 31, 35, 37, 39 (33 is an error)
      'Task', 'TodoWrite', 'Read', 'MultiEdit', 'TodoWrite', // lines 41, 43, 48, 50, 52 (46 is an error)
    ]);
  });

  it('sorts by time, not file order, with the earliest timestamp as origin', () => {
    expect(result.header).toEqual({ format: 'leaksim-traffic', version: 1, source: 'import-claude-code', timeOrigin: '2025-09-03T00:47:19.293Z', redaction: 'hash' });
    const times = result.events.map((event) => event.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // 1af7fc5e lines 11–15: the Bash result (line 13, 00:47:29.831) is written before three Glob
    // results stamped 00:47:29.814; in time order it comes after them.
    const burst = result.events.slice(3, 8).map((event) => [event.atMs, (event as ToolUseEvent).toolName]);
    expect(burst).toEqual([[10_520, 'Glob'], [10_521, 'Glob'], [10_521, 'Glob'], [10_521, 'Glob'], [10_538, 'Bash']]);
    // The second session starts 4 days, 9 hours later (2025-09-07T09:52:03.071Z).
    expect(result.events[14]).toMatchObject({ kind: 'session-start', atMs: 378_283_778, project: 'Demo', source: 'startup' });
  });

  it('sizes prompts, tool uses and stops from the content', () => {
    const firstLine = JSON.parse(readFileSync(INIT_SESSION, 'utf8').split('\n')[0]!);
    expect(result.events[1]).toMatchObject({ kind: 'prompt', promptChars: firstLine.message.content.length, text: firstLine.message.content });
    const lastLine = JSON.parse(readFileSync(ORCHESTRATOR_SESSION, 'utf8').trimEnd().split('\n')[52]!);
    expect(result.events[34]).toMatchObject({ kind: 'stop', messageChars: lastLine.message.content[0].text.length });
    for (const event of result.events) {
      if (event.kind === 'tool-use') expect(event.text!.length).toBe(event.inputChars + event.responseChars);
    }
  });

  it('writes a file the reader accepts, byte-identical on a second import with the same key', () => {
    const first = join(scratch, 'first.jsonl');
    const second = join(scratch, 'second.jsonl');
    writeTrafficFile(first, result.header, result.events, { hashKey: KEY });
    writeTrafficFile(second, importClaudeCode([ORCHESTRATOR_SESSION, INIT_SESSION]).header, importClaudeCode([INIT_SESSION, ORCHESTRATOR_SESSION]).events, { hashKey: KEY });
    expect(readFileSync(second)).toEqual(readFileSync(first));
    expect(readAllEvents(openTrafficFile(first))).toHaveLength(35);
  });
});

/** Writes a synthetic transcript: one JSON record a line. */
function transcript(name: string, records: object[]): string {
  const path = join(scratch, name);
  writeFileSync(path, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
  return path;
}

const at = (second: number) => `2026-01-05T09:00:${String(second).padStart(2, '0')}.000Z`;
const base = (uuid: string, second: number, extra: object = {}) => ({ sessionId: 'syn-1', uuid, timestamp: at(second), cwd: '/home/dev/shop', isSidechain: false, ...extra });
const user = (uuid: string, second: number, content: unknown, extra: object = {}) => ({ type: 'user', ...base(uuid, second, extra), message: { role: 'user', content } });
const assistant = (uuid: string, second: number, id: string, content: unknown[], extra: object = {}) => ({ type: 'assistant', ...base(uuid, second, extra), message: { id, role: 'assistant', content } });
const SECRET = 'sk-live-PLANTED-0123456789';

describe('synthetic transcripts', () => {
  const path = transcript('synthetic.jsonl', [
    user('a', 1, `deploy with key ${SECRET}`),
    // One API message split over three lines; the last line repeats the first text block.
    assistant('b', 2, 'msg-1', [{ type: 'text', text: 'Reading the config.' }]),
    assistant('c', 3, 'msg-1', [{ type: 'tool_use', id: 'tool-1', name: 'Read', input: { file_path: '.env' } }]),
    assistant('d', 3, 'msg-1', [{ type: 'text', text: 'Reading the config.' }, { type: 'tool_use', id: 'tool-1', name: 'Read', input: { file_path: '.env' } }]),
    user('e', 4, [{ type: 'tool_result', tool_use_id: 'tool-1', content: `API_KEY=${SECRET}` }], { toolUseResult: { file: { content: `API_KEY=${SECRET}` } } }),
    // The same record again (copied history): counted once.
    user('e', 4, [{ type: 'tool_result', tool_use_id: 'tool-1', content: `API_KEY=${SECRET}` }], { toolUseResult: { file: { content: `API_KEY=${SECRET}` } } }),
    assistant('f', 6, 'msg-2', [{ type: 'text', text: 'Deployed.' }]),
    user('g', 7, [{ type: 'text', text: 'Now run the tests' }]),
    assistant('h', 8, 'msg-3', [{ type: 'tool_use', id: 'tool-2', name: 'Bash', input: { command: 'npm test' } }]),
    user('i', 9, '[Request interrupted by user for tool use]'),
    user('j', 10, 'caveat', { isMeta: true }),
  ]);

  it('merges split messages, counts a repeated record once, and gives an interrupted turn no stop', () => {
    const { events, counts } = importClaudeCode([path]);
    expect(counts).toMatchObject({ 'session-start': 1, prompt: 2, 'tool-use': 1, stop: 1 });
    expect(events.map((event) => event.kind)).toEqual(['session-start', 'prompt', 'tool-use', 'stop', 'prompt']);
    expect(events[2]).toMatchObject({ atMs: 3_000, toolName: 'Read', inputChars: '{"file_path":".env"}'.length, project: 'shop' });
    expect(events[3]).toMatchObject({ atMs: 5_000, messageChars: 'Deployed.'.length, text: 'Deployed.' });
  });

  it('never writes a planted secret unless content was asked for', () => {
    const { header, events } = importClaudeCode([path]);
    const hashed = join(scratch, 'hashed.jsonl');
    writeTrafficFile(hashed, header, events, { hashKey: KEY });
    expect(readFileSync(hashed, 'utf8')).not.toContain('PLANTED');
    const kept = importClaudeCode([path], { keepContent: true });
    const withContent = join(scratch, 'content.jsonl');
    writeTrafficFile(withContent, kept.header, kept.events, { hashKey: KEY });
    expect(readFileSync(withContent, 'utf8').split('PLANTED').length - 1).toBe(2); // the prompt and the tool output
  });

  it('reports a tool result without its tool use, with file and line', () => {
    const orphan = transcript('orphan.jsonl', [user('a', 1, 'hi'), user('b', 2, [{ type: 'tool_result', tool_use_id: 'nope', content: 'x' }])]);
    expect(() => importClaudeCode([orphan])).toThrow(`${orphan}:2: tool_use_id "nope" has no matching tool_use`);
  });

  it('finds transcripts in nested project directories, and names the project after the directory when no cwd is known', () => {
    const projects = join(scratch, 'projects');
    mkdirSync(join(projects, '-home-dev-shop'), { recursive: true });
    writeFileSync(join(projects, '-home-dev-shop', 's.jsonl'), `${JSON.stringify({ type: 'user', sessionId: 'nocwd', uuid: 'x', timestamp: at(1), message: { role: 'user', content: 'hello' } })}\n`);
    const { events, files } = importClaudeCode([projects]);
    expect(files).toEqual([join(projects, '-home-dev-shop', 's.jsonl')]);
    expect(events[0]).toMatchObject({ kind: 'session-start', project: '-home-dev-shop' });
  });
});

describe('bad lines', () => {
  it('strict: the first corrupt line is an error naming file and line', () => {
    expect(() => importClaudeCode([BAD_LINES])).toThrow(new RegExp(`^${BAD_LINES.replaceAll('.', '\\.')}:2: is not valid JSON \\(`));
  });

  it('--skip-bad: skips and counts corrupt lines, unknown types and records without timestamps', () => {
    const result = importClaudeCode([BAD_LINES], { strict: false });
    expect(result.skipped).toBe(3);
    expect(result.problems.map((problem) => problem.message.slice(BAD_LINES.length))).toEqual([
      expect.stringMatching(/^:2: is not valid JSON \(/),
      ':3: type is "telemetry", not a known record type (user, assistant, system, summary, file-history-snapshot, queue-operation, progress, attachment)',
      ':5: timestamp is missing; assistant records need one',
    ]);
    expect(result.events.map((event) => event.kind)).toEqual(['session-start', 'prompt', 'stop']);
  });

  it('the command line: exit 2 with one line in strict mode; a summary with the count when skipping', async () => {
    const out = join(scratch, 'bad.jsonl');
    const strict = collectOutput();
    expect(await main(['import', 'claude-code', BAD_LINES, '--out', out], strict)).toBe(2);
    expect(strict.stderr).toHaveLength(1);
    expect(strict.stderr[0]).toMatch(new RegExp(`^leaksim: ${BAD_LINES.replaceAll('.', '\\.')}:2: is not valid JSON`));

    const lenient = collectOutput();
    expect(await main(['import', 'claude-code', BAD_LINES, '--out', out, '--skip-bad', '--hash-key', 'k'], lenient)).toBe(0);
    expect(lenient.stdout).toEqual([`imported 3 events from 1 transcripts into ${out} (1 session-start, 1 prompt, 0 tool-use, 1 stop; 3 bad lines skipped; content hashed with the given key)`]);
    expect(lenient.stderr).toHaveLength(3);
    expect(lenient.stderr[2]).toBe(`leaksim: skipped ${BAD_LINES}:5: timestamp is missing; assistant records need one`);
  });

  it('the command line: imports a folder of synthetic transcripts (what a fresh clone has)', async () => {
    const folder = join(scratch, 'synthetic-projects', '-home-dev-shop');
    mkdirSync(folder, { recursive: true });
    const session = (id: string, second: number) =>
      [
        { type: 'user', sessionId: id, uuid: `${id}-1`, timestamp: at(second), cwd: '/home/dev/shop', message: { role: 'user', content: 'fix the build' } },
        { type: 'assistant', sessionId: id, uuid: `${id}-2`, timestamp: at(second + 1), cwd: '/home/dev/shop', message: { id: `${id}-m1`, role: 'assistant', content: [{ type: 'tool_use', id: `${id}-t1`, name: 'Bash', input: { command: 'npm run build' } }] } },
        { type: 'user', sessionId: id, uuid: `${id}-3`, timestamp: at(second + 2), cwd: '/home/dev/shop', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `${id}-t1`, content: 'ok' }] } },
        { type: 'assistant', sessionId: id, uuid: `${id}-4`, timestamp: at(second + 3), cwd: '/home/dev/shop', message: { id: `${id}-m2`, role: 'assistant', content: [{ type: 'text', text: 'Fixed.' }] } },
      ]
        .map((record) => JSON.stringify(record))
        .join('\n');
    writeFileSync(join(folder, 'a.jsonl'), `${session('syn-a', 1)}\n`);
    writeFileSync(join(folder, 'b.jsonl'), `${session('syn-b', 20)}\n`);
    const out = join(scratch, 'synthetic-folder.jsonl');
    const output = collectOutput();
    expect(await main(['import', 'claude-code', join(scratch, 'synthetic-projects'), '--out', out, '--hash-key', 'k'], output)).toBe(0);
    expect(output.stdout).toEqual([`imported 8 events from 2 transcripts into ${out} (2 session-start, 2 prompt, 2 tool-use, 2 stop; 0 bad lines skipped; content hashed with the given key)`]);
    expect(readAllEvents(openTrafficFile(out)).map((event) => event.kind)).toEqual(['session-start', 'prompt', 'tool-use', 'stop', 'session-start', 'prompt', 'tool-use', 'stop']);
  });

  it.skipIf(!TRANSCRIPTS.available)('the command line: imports the shared transcripts', async () => {
    const out = join(scratch, 'shared.jsonl');
    const output = collectOutput();
    expect(await main(['import', 'claude-code', SHARED, '--out', out], output)).toBe(0);
    expect(output.stdout).toEqual([`imported 35 events from 2 transcripts into ${out} (2 session-start, 2 prompt, 29 tool-use, 2 stop; 0 bad lines skipped; content hashed with a random key)`]);
    expect(readAllEvents(openTrafficFile(out))).toHaveLength(35);
  });

  it('the command line: usage errors are one line and exit 2', async () => {
    for (const [args, message] of [
      [['import', 'claude-code', scratch], 'leaksim import: --out is required'],
      [['import', 'cursor', scratch, '--out', 'x'], "leaksim import: does not know the source 'cursor'; the one source is 'claude-code'"],
      [['import', 'claude-code', join(scratch, 'missing'), '--out', 'x'], `leaksim: ${join(scratch, 'missing')}: cannot be read (ENOENT)`],
    ] as const) {
      const output = collectOutput();
      expect(await main([...args], output)).toBe(2);
      expect(output.stderr).toEqual([message]);
    }
  });
});
