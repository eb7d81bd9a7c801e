import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../sim/cli/main.ts';
import { collectOutput } from '../../sim/cli/output.ts';
import { record } from '../../sim/cli/record.ts';
import { startRecorder, type Recorder } from '../../sim/record/recorder.ts';
import { openTrafficFile, readAllEvents } from '../../sim/traffic-file/reader.ts';

const KEY = Buffer.from('recorder-test-key');
const hmac = (text: string) => createHmac('sha256', KEY).update(text, 'utf8').digest('hex');
const SECRET = 'ghp_PLANTED_SECRET_0123456789';
const BIN = new URL('../../bin/leaksim.js', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'leaksim-record-'));

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A fake claude-mem worker on loopback implementing the documented routes. An init whose prompt
 * starts with "slow" answers after 150 ms, so concurrent inits are answered out of order.
 */
function fakeWorker(): Promise<{ server: http.Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const dbIds = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: request.method!, url: request.url!, headers: request.headers, body });
      const json = (status: number, value: unknown, delayMs = 0) =>
        setTimeout(() => {
          response.writeHead(status, { 'content-type': 'application/json', 'x-worker': 'fake' });
          response.end(JSON.stringify(value));
        }, delayMs);
      const path = request.url!.split('?')[0]!;
      if (request.method === 'GET' && path === '/api/context/inject') {
        response.writeHead(200, { 'content-type': 'text/plain' });
        return void response.end(`# context for ${new URL(request.url!, 'http://x').searchParams.get('project')}\n`);
      }
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(body || '{}');
      } catch {
        return json(400, { error: 'bad json' });
      }
      if (request.method === 'POST' && path === '/api/sessions/init') {
        const session = String(parsed.contentSessionId);
        if (!dbIds.has(session)) dbIds.set(session, dbIds.size + 1);
        return json(200, { sessionDbId: dbIds.get(session), promptNumber: 1, skipped: false }, String(parsed.prompt).startsWith('slow') ? 150 : 0);
      }
      if (request.method === 'POST' && /^\/sessions\/\d+\/init$/.test(path)) return json(200, { status: 'initialized' });
      if (request.method === 'POST' && (path === '/api/sessions/observations' || path === '/api/sessions/summarize')) return json(202, { status: 'queued' });
      if ((request.method === 'POST' && /^\/sessions\/\d+\/complete$/.test(path)) || (request.method === 'DELETE' && /^\/sessions\/\d+$/.test(path))) return json(200, { success: true });
      return json(404, { error: 'not found' });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, received })));
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function send(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const post = (port: number, path: string, value: unknown) => send(port, 'POST', path, JSON.stringify(value));

let worker: Awaited<ReturnType<typeof fakeWorker>>;
beforeAll(async () => {
  worker = await fakeWorker();
});
afterAll(() => {
  worker.server.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** One session's hook calls, as claude-mem 8.5.7's hooks (plus a later version's complete route) make them. */
async function oneSession(port: number, session: string, cwd: string): Promise<void> {
  await send(port, 'GET', '/api/context/inject?project=shop');
  const init = JSON.parse((await post(port, '/api/sessions/init', { contentSessionId: session, project: 'shop', prompt: `Fix login; token=${SECRET}` })).body);
  await post(port, `/sessions/${init.sessionDbId}/init`, { userPrompt: `Fix login; token=${SECRET}`, promptNumber: 1 });
  await post(port, '/api/sessions/observations', { contentSessionId: session, tool_name: 'Bash', tool_input: { command: 'cat .env' }, tool_response: { stdout: `TOKEN=${SECRET}` }, cwd });
  await post(port, '/api/sessions/summarize', { contentSessionId: session, last_assistant_message: 'Fixed.' });
  await send(port, 'POST', `/sessions/${init.sessionDbId}/complete`);
}

describe('recording through the proxy', () => {
  let recorder: Recorder;
  const out = join(scratch, 'proxy.jsonl');
  const answers: { direct: Answer; proxied: Answer }[] = [];

  beforeAll(async () => {
    recorder = await startRecorder({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: worker.port }, outPath: out, keepContent: false, hashKey: KEY });
    await oneSession(recorder.port, 'cc-1', '/home/dev/shop');
    // Not recordable, or not recorded twice: a second end for the same id, an unknown id, a body that is not JSON.
    await send(recorder.port, 'DELETE', '/sessions/1');
    await send(recorder.port, 'DELETE', '/sessions/99');
    await send(recorder.port, 'POST', '/api/sessions/observations', '{not json');
    // Two inits at once, the first answered last: each end call must still map to its own session.
    await Promise.all([
      post(recorder.port, '/api/sessions/init', { contentSessionId: 'cc-slow', project: 'api', prompt: 'slow one' }),
      post(recorder.port, '/api/sessions/init', { contentSessionId: 'cc-fast', project: 'web', prompt: 'fast one' }),
    ]);
    await send(recorder.port, 'DELETE', '/sessions/2'); // cc-slow asked first, so the fake gave it id 2
    await send(recorder.port, 'DELETE', '/sessions/3');
    // The same request straight to the worker and through the proxy: the answers must match.
    for (const [method, path, body] of [
      ['GET', '/api/context/inject?project=shop', undefined],
      ['POST', '/api/sessions/observations', JSON.stringify({ contentSessionId: 'cc-1', tool_name: 'Read', tool_input: { file_path: 'a' }, tool_response: 'é'.repeat(70_000), cwd: '/x' })],
      ['POST', '/nope', '{}'],
    ] as const) {
      answers.push({ direct: await send(worker.port, method, path, body, { 'x-trace': 'abc' }), proxied: await send(recorder.port, method, path, body, { 'x-trace': 'abc' }) });
    }
  });

  it('forwards every request unchanged', () => {
    const init = worker.received.find((call) => call.url === '/api/sessions/init')!;
    expect(init.method).toBe('POST');
    expect(init.body).toBe(JSON.stringify({ contentSessionId: 'cc-1', project: 'shop', prompt: `Fix login; token=${SECRET}` }));
    expect(worker.received.filter((call) => call.url === '/api/context/inject?project=shop')).toHaveLength(3);
    const traced = worker.received.filter((call) => call.headers['x-trace'] === 'abc');
    expect(traced).toHaveLength(6);
    for (let index = 0; index < 6; index += 2) {
      const [direct, proxied] = [traced[index]!, traced[index + 1]!];
      expect(proxied.method).toBe(direct.method);
      expect(proxied.url).toBe(direct.url);
      expect(proxied.body).toBe(direct.body);
      expect(proxied.headers['content-length']).toBe(direct.headers['content-length']);
      expect(proxied.headers['content-type']).toBe(direct.headers['content-type']);
    }
  });

  it('forwards every response unchanged: status, headers and body', () => {
    for (const { direct, proxied } of answers) {
      expect(proxied.status).toBe(direct.status);
      expect(proxied.body).toBe(direct.body);
      for (const name of ['content-type', 'content-length', 'x-worker']) expect(proxied.headers[name]).toBe(direct.headers[name]);
    }
    expect(answers.map(({ proxied }) => proxied.status)).toEqual([200, 202, 404]);
  });

  it('records the session calls, attributes end calls through sessionDbId, and hashes content', async () => {
    const summary = await recorder.stop();
    expect(summary).toEqual({ outPath: out, events: 9, counts: { prompt: 3, 'tool-use': 2, stop: 1, 'session-end': 3 }, unrecorded: 2 });
    expect(existsSync(`${out}.partial`)).toBe(false);
    const traffic = openTrafficFile(out);
    expect(traffic.header).toMatchObject({ format: 'leaksim-traffic', version: 1, source: 'record', redaction: 'hash' });
    const events = readAllEvents(traffic);
    const untimed = events.map(({ atMs: _atMs, ...rest }) => rest);
    const input = JSON.stringify({ command: 'cat .env' });
    const response = JSON.stringify({ stdout: `TOKEN=${SECRET}` });
    expect(untimed.slice(0, 4)).toEqual([
      { kind: 'prompt', session: 'cc-1', project: 'shop', promptChars: `Fix login; token=${SECRET}`.length, hash: hmac(`Fix login; token=${SECRET}`) },
      { kind: 'tool-use', session: 'cc-1', project: 'shop', toolName: 'Bash', inputChars: input.length, responseChars: response.length, hash: hmac(input + response) },
      { kind: 'stop', session: 'cc-1', project: 'shop', messageChars: 6, hash: hmac('Fixed.') },
      { kind: 'session-end', session: 'cc-1', project: 'shop', reason: 'other' },
    ]);
    const ends = untimed.filter((event) => event.kind === 'session-end').map((event) => 'session' in event && event.session);
    expect(ends).toEqual(['cc-1', 'cc-slow', 'cc-fast']);
    expect(untimed[8]).toMatchObject({ kind: 'tool-use', toolName: 'Read', inputChars: '{"file_path":"a"}'.length, responseChars: 70_000 });
    expect(readFileSync(out, 'utf8')).not.toContain('PLANTED');
  });
});

describe('privacy, refusals and failures', () => {
  it('keeps content only when asked', async () => {
    const out = join(scratch, 'content.jsonl');
    const recorder = await startRecorder({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: worker.port }, outPath: out, keepContent: true, hashKey: KEY });
    await oneSession(recorder.port, 'cc-keep', '/home/dev/shop');
    await recorder.stop();
    const events = readAllEvents(openTrafficFile(out));
    expect(events[0]).toMatchObject({ kind: 'prompt', text: `Fix login; token=${SECRET}` });
    expect(readFileSync(out, 'utf8').split('PLANTED').length - 1).toBe(2);
  });

  it('refuses to listen anywhere but loopback, as one line and exit 2', async () => {
    const output = collectOutput();
    expect(await main(['record', '--listen', '0.0.0.0:37778', '--out', join(scratch, 'x.jsonl')], output)).toBe(2);
    expect(output.stderr).toEqual(["leaksim record: --listen is '0.0.0.0', but the recorder listens on loopback only (127.0.0.1 or ::1)"]);
    const bad = collectOutput();
    expect(await main(['record', '--listen', 'localhost', '--out', join(scratch, 'x.jsonl')], bad)).toBe(2);
    expect(bad.stderr).toEqual(["leaksim record: --listen is 'localhost', expected host:port such as 127.0.0.1:37777"]);
    expect(existsSync(join(scratch, 'x.jsonl.partial'))).toBe(false);
  });

  it('answers a path that does not decode (DELETE /sessions/%E0%A4%A) with 400 and keeps recording', async () => {
    const out = join(scratch, 'malformed.jsonl');
    const recorder = await startRecorder({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: worker.port }, outPath: out, keepContent: false, hashKey: KEY });
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port: recorder.port, method: 'DELETE', path: '/sessions/%E0%A4%A' }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    expect(status).toBe(400);
    await oneSession(recorder.port, 'cc-after-400', '/home/dev/shop');
    const summary = await recorder.stop();
    expect(summary.events).toBeGreaterThan(0);
    expect(readAllEvents(openTrafficFile(out)).length).toBe(summary.events);
  });

  it('refuses an --upstream equal to --listen (it would forward to itself), one line, exit 2', async () => {
    const output = collectOutput();
    expect(await main(['record', '--listen', '127.0.0.1:37790', '--upstream', 'localhost:37790', '--out', join(scratch, 'loop.jsonl')], output)).toBe(2);
    expect(output.stderr).toEqual([expect.stringMatching(/^leaksim record: --upstream localhost:37790 is where the recorder itself listens/)]);
    expect(existsSync(join(scratch, 'loop.jsonl.partial'))).toBe(false);
  });

  it('never overwrites a recording left by a crash', async () => {
    const out = join(scratch, 'crashed.jsonl');
    writeFileSync(`${out}.partial`, 'left over\n');
    const output = collectOutput();
    expect(await main(['record', '--listen', '127.0.0.1:0', '--out', out], output)).toBe(2);
    expect(output.stderr).toEqual([`leaksim: ${out}.partial: exists, left by a recording that did not finish; rename it (it is readable) or delete it`]);
    expect(readFileSync(`${out}.partial`, 'utf8')).toBe('left over\n');
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('answers 502 when the worker is down, and still records what the hook sent', async () => {
    const out = join(scratch, 'down.jsonl');
    const closed = http.createServer();
    const downPort = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)));
    await new Promise((resolve) => closed.close(resolve));
    const output = collectOutput();
    let stop!: () => void;
    const done = record(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${downPort}`, '--out', out, '--hash-key', 'k'], output, () => new Promise<void>((resolve) => (stop = resolve)));
    await expect.poll(() => output.stdout.length).toBe(1);
    const port = Number(/127\.0\.0\.1:(\d+),/.exec(output.stdout[0]!)![1]);
    const answer = await post(port, '/api/sessions/summarize', { contentSessionId: 'cc-x', last_assistant_message: 'hi' });
    expect(answer.status).toBe(502);
    expect(answer.body).toBe(`leaksim record: upstream 127.0.0.1:${downPort} unreachable (ECONNREFUSED)\n`);
    // The person running the recorder is told too, once per outage.
    await post(port, '/api/sessions/summarize', { contentSessionId: 'cc-x', last_assistant_message: 'again' });
    expect(output.stderr).toEqual([`leaksim record: upstream 127.0.0.1:${downPort} is not answering (ECONNREFUSED): the hooks get 502 and their calls are recorded but not served; start the worker`]);
    stop();
    expect(await done).toBe(0);
    expect(output.stdout[1]).toBe(`recorded 2 events into ${out} (0 prompt, 0 tool-use, 2 stop, 0 session-end; 0 calls not recordable; content hashed with the given key)`);
  });
});

describe('the command line process', () => {
  /** Starts `leaksim record` as a child process and waits (bounded) for its listening line. */
  async function spawnRecorder(out: string): Promise<{ child: ChildProcess; port: number; stdout: () => string }> {
    const child = spawn(process.execPath, [BIN, 'record', '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${worker.port}`, '--out', out, '--hash-key', 'k'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await expect.poll(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1], { timeout: 30_000, interval: 50 }).toBeDefined();
    expect(stderr).toBe('');
    return { child, port: Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1]), stdout: () => stdout };
  }
  const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  it('Ctrl-C: every recorded line is kept and the file is complete and valid', async () => {
    const out = join(scratch, 'sigint.jsonl');
    const { child, port, stdout } = await spawnRecorder(out);
    await oneSession(port, 'cc-int', '/home/dev/shop');
    const exit = exited(child);
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(readAllEvents(openTrafficFile(out)).map((event) => event.kind)).toEqual(['prompt', 'tool-use', 'stop', 'session-end']);
    expect(stdout()).toContain(`recorded 4 events into ${out} (1 prompt, 1 tool-use, 1 stop, 1 session-end; 0 calls not recordable; content hashed with the given key)`);
  });

  it('a hard kill leaves <out>.partial, whose lines are all readable', async () => {
    const out = join(scratch, 'sigkill.jsonl');
    const { child, port } = await spawnRecorder(out);
    await oneSession(port, 'cc-kill', '/home/dev/shop');
    const exit = exited(child);
    child.kill('SIGKILL');
    await exit;
    expect(existsSync(out)).toBe(false);
    expect(readAllEvents(openTrafficFile(`${out}.partial`))).toHaveLength(4);
  });
});
