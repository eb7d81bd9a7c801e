import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import type { HookEvent } from '../../sim/engine/events.ts';
import { COMMANDS } from '../../sim/cli/commands.ts';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import type { TrafficHeader } from '../../sim/traffic-file/format.ts';
import { openTrafficFile, parseTraffic, readAllEvents, READ_CHUNK_BYTES } from '../../sim/traffic-file/reader.ts';
import { formatTraffic, writeTrafficFile } from '../../sim/traffic-file/writer.ts';
import schema from '../../sim/traffic-file/traffic.schema.json' with { type: 'json' };
import { InputError } from '../../src/input-error.ts';
import { inputErrorOf } from '../helpers/input-error.ts';

const FIXTURES = new URL('../fixtures/traffic/', import.meta.url).pathname;
const fixture = (name: string) => join(FIXTURES, name);
const scratch = mkdtempSync(join(tmpdir(), 'leaksim-traffic-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KEY = Buffer.from('fixture-key');
const hmac = (text: string) => createHmac('sha256', KEY).update(text, 'utf8').digest('hex');
const header = (redaction: 'hash' | 'content'): TrafficHeader => ({ format: 'leaksim-traffic', version: 1, source: 'test', timeOrigin: '2026-01-05T09:00:00.000Z', redaction });

/** The error a reader throws for `path`, reading all of it. */
function readError(path: string): InputError {
  return inputErrorOf(() => readAllEvents(openTrafficFile(path)));
}

describe('reading', () => {
  it('reads the header eagerly and the events of every kind in file order', () => {
    const traffic = openTrafficFile(fixture('sample-hash.jsonl'));
    expect(traffic.header).toEqual({ format: 'leaksim-traffic', version: 1, source: 'generate', timeOrigin: '2026-01-05T09:00:00.000Z', redaction: 'hash' });
    const events = readAllEvents(traffic);
    expect(events.map((event) => event.kind)).toEqual(['session-start', 'prompt', 'tool-use', 'stop', 'session-end', 'worker-restart', 'sleep']);
    expect(events[2]).toEqual({ atMs: 4500, kind: 'tool-use', session: 's-1', project: 'demo', toolName: 'Read', inputChars: 27, responseChars: 12, hash: hmac('{"file_path":"src/app.ts"} export {};\n\n') });
    expect(events[6]).toEqual({ atMs: 61000, kind: 'sleep', durationMs: 3_600_000 });
    expect(traffic.skipped()).toBe(0);
  });

  it('keeps content only in a content file, with sizes that match it', () => {
    const events = readAllEvents(openTrafficFile(fixture('sample-content.jsonl')));
    expect(events[1]).toEqual({ atMs: 1200, kind: 'prompt', session: 's-1', project: 'demo', promptChars: 21, text: 'Fix the failing test.' });
    const bad = parseTraffic(`${JSON.stringify(header('content'))}\n{"atMs":0,"kind":"prompt","session":"s","project":"p","promptChars":5,"text":"four"}\n`, { file: 't.jsonl' });
    expect(() => readAllEvents(bad)).toThrow('t.jsonl:2: text has 4 characters but promptChars is 5');
  });

  it('upgrades a version 0 file to the same events as version 1', () => {
    const traffic = openTrafficFile(fixture('version-0.jsonl'));
    expect(traffic.header.timeOrigin).toBe('2026-01-05T09:00:00.000Z');
    expect(traffic.header.version).toBe(1);
    expect(readAllEvents(traffic)).toEqual([
      { atMs: 0, kind: 'session-start', session: 's-1', project: 'demo', source: 'startup' },
      { atMs: 1200, kind: 'prompt', session: 's-1', project: 'demo', promptChars: 21 },
    ]);
  });

  it('decodes a multi-byte character split across a read chunk, and a line longer than a chunk', () => {
    const text = 'é'.repeat(READ_CHUNK_BYTES); // 2 bytes each: the line spans three chunks
    const path = join(scratch, 'wide.jsonl');
    writeTrafficFile(path, header('content'), [{ atMs: 0, kind: 'prompt', session: 's', project: 'p', promptChars: text.length, text }]);
    const [event] = readAllEvents(openTrafficFile(path));
    expect(event).toEqual({ atMs: 0, kind: 'prompt', session: 's', project: 'p', promptChars: READ_CHUNK_BYTES, text });
  });
});

describe('malformed files: one line, naming the line and field', () => {
  it.each([
    ['truncated.jsonl', 'truncated.jsonl:4: is truncated (no newline at the end of the file; was the recording interrupted?)'],
    ['unknown-kind.jsonl', 'unknown-kind.jsonl:4: kind is "tool_use", expected one of session-start, prompt, tool-use, stop, session-end, worker-restart, sleep'],
    ['backwards.jsonl', "backwards.jsonl:4: atMs is 900, before the previous event's 1200: time must not go backwards"],
    ['newer-version.jsonl', 'newer-version.jsonl:1: version is 2, newer than this leaksim reads (up to 1); use a newer leaksim'],
    ['text-in-hash-file.jsonl', 'text-in-hash-file.jsonl:3: text is present but the header says redaction "hash" (content must not be kept)'],
  ])('%s', (name, expected) => {
    const error = readError(fixture(name));
    expect(error.message).toBe(`${fixture(name)}:${expected.slice(name.length + 1)}`);
    expect(error.message).not.toContain('\n');
  });

  it('bad JSON names the line and quotes the parser', () => {
    const error = readError(fixture('bad-json.jsonl'));
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/bad-json\.jsonl:3: is not valid JSON \(.+\)$/);
  });

  it('names the field that is missing, unexpected or of the wrong type', () => {
    const lines = (event: string) => readAllEvents(parseTraffic(`${JSON.stringify(header('hash'))}\n${event}\n`, { file: 'f' }));
    expect(() => lines('{"atMs":0,"kind":"stop","session":"s","project":"p"}')).toThrow('f:2: messageChars is missing');
    expect(() => lines('{"atMs":-5,"kind":"worker-restart"}')).toThrow('f:2: atMs is -5, expected a whole number from 0 to 31622400000 (MAX_TRAFFIC_SPAN_MS');
    expect(() => lines('{"atMs":0,"kind":"worker-restart","session":"s"}')).toThrow('f:2: session is not a field of a worker-restart event (fields: atMs, kind)');
    expect(() => lines('{"atMs":0,"kind":"session-end","session":"s","project":"p","reason":"quit"}')).toThrow('f:2: reason is "quit", expected one of clear, logout, prompt_input_exit, other');
    expect(() => lines('')).toThrow('f:2: is empty (blank lines are not allowed)');
    expect(() => parseTraffic('{"format":"other"}\n', { file: 'f' })).toThrow('f:1: format is "other", expected "leaksim-traffic" (is this a leaksim traffic file?)');
    expect(() => parseTraffic('', { file: 'f' })).toThrow('f:1: is empty: expected a header line (is this a leaksim traffic file?)');
  });

  it('lenient reading skips and counts bad event lines, keeping the good ones', () => {
    const traffic = openTrafficFile(fixture('truncated.jsonl'), { strict: false });
    expect(readAllEvents(traffic).map((event) => event.atMs)).toEqual([0, 1200]);
    expect(traffic.skipped()).toBe(1);
    expect(traffic.problems()[0]!.line).toBe(4);
    const backwards = openTrafficFile(fixture('backwards.jsonl'), { strict: false });
    expect(readAllEvents(backwards)).toHaveLength(2);
    expect(backwards.skipped()).toBe(1);
  });

  it('a bad header is fatal even when lenient, and fails before any event is read', () => {
    expect(() => openTrafficFile(fixture('newer-version.jsonl'), { strict: false })).toThrow(/version is 2, newer than this leaksim reads/);
  });

  it('reaches the command line as one line on stderr and exit 2', async () => {
    const readTraffic = async (args: readonly string[]) => {
      readAllEvents(openTrafficFile(args[0]!));
      return 0;
    };
    const commands = new Map([...COMMANDS, ['test-read-traffic', { summary: '', load: async () => readTraffic }]]);
    for (const name of ['truncated.jsonl', 'bad-json.jsonl', 'unknown-kind.jsonl', 'backwards.jsonl', 'newer-version.jsonl']) {
      const output = collectOutput();
      expect(await main(['test-read-traffic', fixture(name)], output, commands)).toBe(2);
      expect(output.stderr).toHaveLength(1);
      expect(output.stderr[0]).toMatch(new RegExp(`^leaksim: ${fixture(name).replaceAll('.', '\\.')}:\\d+: `));
    }
  });
});

describe('writing', () => {
  it.each(['sample-hash.jsonl', 'sample-content.jsonl'])('read then write gives identical bytes: %s', (name) => {
    const original = readFileSync(fixture(name), 'utf8');
    const traffic = openTrafficFile(fixture(name));
    expect(formatTraffic(traffic.header, traffic.events)).toBe(original);
    const path = join(scratch, name);
    writeTrafficFile(path, traffic.header, traffic.events);
    expect(readFileSync(path, 'utf8')).toBe(original);
  });

  it('writes fields in the fixed order whatever order the caller built them in', () => {
    const scrambled = { text: 'hello', promptChars: 5, project: 'p', kind: 'prompt', session: 's', atMs: 7 } as HookEvent;
    const text = formatTraffic(header('content'), [scrambled]);
    expect(text.split('\n')[1]).toBe('{"atMs":7,"kind":"prompt","session":"s","project":"p","promptChars":5,"text":"hello"}');
  });

  it('replaces content by its HMAC-SHA256 unless the header keeps content', () => {
    const secret = 'AKIA-PLANTED-SECRET-4242';
    const events: HookEvent[] = [
      { atMs: 0, kind: 'prompt', session: 's', project: 'p', promptChars: secret.length, text: secret },
      { atMs: 1, kind: 'tool-use', session: 's', project: 'p', toolName: 'Bash', inputChars: 2, responseChars: secret.length, text: `{}${secret}` },
    ];
    const hashed = formatTraffic(header('hash'), events, { hashKey: KEY });
    expect(hashed).not.toContain(secret);
    expect(hashed.split('\n')[1]).toBe(`{"atMs":0,"kind":"prompt","session":"s","project":"p","promptChars":24,"hash":"${hmac(secret)}"}`);
    expect(formatTraffic(header('content'), events)).toContain(secret);
    expect(() => formatTraffic(header('hash'), events)).toThrow(/a hash key is needed/);
  });

  it('leaves no partial file when writing fails, and keeps an existing file', () => {
    const path = join(scratch, 'kept.jsonl');
    writeFileSync(path, 'previous contents\n');
    function* failing(): Generator<HookEvent> {
      yield { atMs: 0, kind: 'worker-restart' };
      throw new Error('generator failed');
    }
    expect(() => writeTrafficFile(path, header('hash'), failing())).toThrow('generator failed');
    expect(readFileSync(path, 'utf8')).toBe('previous contents\n');
    expect(() => writeTrafficFile(join(scratch, 'never.jsonl'), header('hash'), [{ atMs: 5, kind: 'worker-restart' }, { atMs: 4, kind: 'worker-restart' }])).toThrow(/event 2 has atMs 4 after 5/);
    expect(readdirSync(scratch).filter((name) => name.includes('.tmp-') || name === 'never.jsonl')).toEqual([]);
  });

  it('every line the writer produces matches the JSON Schema, and a bad kind does not', () => {
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(schema);
    for (const name of ['sample-hash.jsonl', 'sample-content.jsonl']) {
      for (const line of readFileSync(fixture(name), 'utf8').trimEnd().split('\n')) expect(validate(JSON.parse(line)), line).toBe(true);
    }
    const unknownKind = readFileSync(fixture('unknown-kind.jsonl'), 'utf8').split('\n')[3]!;
    expect(validate(JSON.parse(unknownKind))).toBe(false);
    expect(validate({ atMs: 0, kind: 'prompt', session: 's', project: 'p', promptChars: 1, hash: 'x', text: 'a' })).toBe(false);
  });
});

describe('constant memory', () => {
  it('streams a file many times larger than the heap it uses', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc).toBeTypeOf('function');
    const eventCount = 400_000;
    function* many(): Generator<HookEvent> {
      for (let index = 0; index < eventCount; index += 1) {
        yield { atMs: index, kind: 'tool-use', session: `session-${index % 1000}`, project: 'big', toolName: 'Read', inputChars: 100, responseChars: 2000, hash: 'a'.repeat(64) };
      }
    }
    const path = join(scratch, 'big.jsonl');
    writeTrafficFile(path, header('hash'), many());
    const fileBytes = statSync(path).size;
    expect(fileBytes).toBeGreaterThan(60 * 1024 * 1024);

    gc!();
    const before = process.memoryUsage().heapUsed;
    let count = 0;
    let peakGrowthBytes = 0;
    for (const event of openTrafficFile(path).events) {
      count += event.kind === 'tool-use' ? 1 : 0;
      if (count % 100_000 === 0) {
        gc!();
        peakGrowthBytes = Math.max(peakGrowthBytes, process.memoryUsage().heapUsed - before);
      }
    }
    expect(count).toBe(eventCount);
    // A reader that kept lines or events would grow by about the file's size (60+ MB).
    expect(peakGrowthBytes).toBeLessThan(8 * 1024 * 1024);
    rmSync(path);
  });
});
