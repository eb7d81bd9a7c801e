/**
 * The recorder: an HTTP proxy in front of a real claude-mem worker. The hooks are pointed at the
 * proxy's port; every request and response passes through unchanged (method, path, headers, body,
 * status, streamed both ways), and the session-relevant calls are written to a traffic file as
 * they happen.
 *
 * What is recorded (routes from ../shared/reference/hook-traffic.md):
 *   POST /api/sessions/init           {contentSessionId, project, prompt}          → prompt
 *   POST /api/sessions/observations   {contentSessionId, tool_name, tool_input,
 *                                      tool_response, cwd}                         → tool-use
 *   POST /api/sessions/summarize      {contentSessionId, last_assistant_message}   → stop
 *   POST /sessions/:id/complete, DELETE /sessions/:id                             → session-end (reason other)
 * The `:id` of the last two is claude-mem's sessionDbId; it is mapped back to the Claude Code
 * session through the `sessionDbId` the init call answered. An end call for an id never seen in
 * an init answer (the recorder started mid-session) cannot be attributed and is only counted.
 * GET /api/context/inject (SessionStart) carries a project but no session id, so it is not
 * recorded: a recording has no session-start events (SessionStart never touches the session
 * manager, so nothing a replay checks depends on it). POST /sessions/:id/init, the second half
 * of a prompt, is forwarded only. A call is recorded when its request body has fully arrived,
 * whatever the worker answers: a recording is what the hooks sent.
 *
 * Time: this is a real-time tool outside the simulation, so it reads the real clock, here and
 * nowhere else in sim/. The origin is the wall clock at start; offsets come from the monotonic
 * clock (performance.now), so they never go backwards even if the wall clock is adjusted.
 *
 * The file: lines are appended to `<out>.partial` with one write each as they happen, so a
 * signal cannot lose a recorded line. `stop()` (Ctrl-C or SIGTERM in the CLI) syncs the file and
 * renames it to `<out>`. If the process dies instead (SIGKILL, a crash, a second Ctrl-C during
 * the stop), `<out>.partial` stays: every line in it is complete except, after a power loss, the
 * last; a lenient read (`strict: false`) skips that one. The recorder refuses to start while a
 * `<out>.partial` exists, so such a file is never overwritten.
 *
 * Content goes through the traffic writer's formatter, the one place redaction happens.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HookEvent } from '../engine/events.ts';
import { InputError } from '../../src/input-error.ts';
import { type TrafficHeader, TRAFFIC_FORMAT, TRAFFIC_VERSION } from '../traffic-file/format.ts';
import { createLineFormatter } from '../traffic-file/writer.ts';

/** A body larger than this is still forwarded, but not recorded (it is counted as unrecorded). */
export const MAX_RECORDED_BODY_BYTES = 64 * 1024 * 1024;
/** Sessions remembered for attributing tool uses to projects and end calls to sessions; the oldest is forgotten first. */
export const MAX_TRACKED_SESSIONS = 10_000;
/** On stop, requests in flight get this long to finish before their connections are closed. */
export const STOP_GRACE_MS = 2_000;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface RecorderOptions {
  /** Must be a loopback address. Port 0 picks a free port. */
  readonly listen: HostPort;
  readonly upstream: HostPort;
  readonly outPath: string;
  readonly keepContent: boolean;
  readonly hashKey: Buffer;
  /** Replace a file that exists at outPath when the recording stops (the command checks before it starts). */
  readonly force?: boolean;
  /** Told once each time the upstream worker stops answering (and again after it answered in between). */
  readonly onUpstreamDown?: (message: string) => void;
  /** Told once when a write to the recording fails (a full disk): the recording stops there. */
  readonly onWriteFailed?: (message: string) => void;
}

export interface RecordingSummary {
  readonly outPath: string;
  /** Set when a write failed (ENOSPC…): `outPath` is then the .partial file, kept as written. */
  readonly writeError?: string;
  readonly events: number;
  readonly counts: Readonly<Record<'prompt' | 'tool-use' | 'stop' | 'session-end', number>>;
  /** Calls on recorded routes that could not be recorded: a body that is not the documented JSON, too large, or an end for an unknown sessionDbId. */
  readonly unrecorded: number;
}

export interface Recorder {
  /** Where the hooks should send their calls, e.g. http://127.0.0.1:37778. */
  readonly url: string;
  readonly port: number;
  summary(): RecordingSummary;
  /** Stops listening, lets calls in flight finish (up to STOP_GRACE_MS), and moves the file into place. */
  stop(): Promise<RecordingSummary>;
}

/** Loopback only: the recorder sees prompts and tool output, and must not be reachable from elsewhere. */
export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';
}

/** Parses `host:port` (or `[v6]:port`) given to `flag`. */
export function parseHostPort(text: string, flag: string, where: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65_535) throw new InputError(where, 0, flag, `is '${text}', expected host:port such as 127.0.0.1:37777`);
  return { host: (match[1] ?? match[2])!, port };
}

export async function startRecorder(options: RecorderOptions): Promise<Recorder> {
  const where = 'leaksim record';
  if (!isLoopback(options.listen.host)) {
    throw new InputError(where, 0, '--listen', `is '${options.listen.host}', but the recorder listens on loopback only (127.0.0.1 or ::1)`);
  }
  const partialPath = `${options.outPath}.partial`;
  let fd: number;
  try {
    fd = openSync(partialPath, 'wx');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new InputError(partialPath, 0, '', 'exists, left by a recording that did not finish; rename it (it is readable) or delete it');
    throw new InputError(partialPath, 0, '', `cannot be created (${code ?? (error as Error).message})`);
  }

  const startPerfMs = performance.now();
  const header: TrafficHeader = {
    format: TRAFFIC_FORMAT,
    version: TRAFFIC_VERSION,
    source: 'record',
    timeOrigin: new Date().toISOString(),
    redaction: options.keepContent ? 'content' : 'hash',
  };
  // Checked with replay's own line reader: a call replay would refuse (a 2,000-character session id) is not recorded, and counted.
  const formatter = createLineFormatter(header, { hashKey: options.hashKey, validateAs: partialPath });
  // Every write checked: a short write (a full disk) is retried for the rest, an error (ENOSPC, EIO)
  // stops the recording, keeps the partial file as it is, and is reported once.
  let writeError: string | undefined;
  const writeLine = (text: string): boolean => {
    if (writeError !== undefined) return false;
    const bytes = Buffer.from(text);
    let written = 0;
    try {
      while (written < bytes.length) {
        const count = writeSync(fd, bytes, written, bytes.length - written);
        if (count <= 0) throw Object.assign(new Error('no bytes written'), { code: 'EIO' });
        written += count;
      }
      return true;
    } catch (error) {
      writeError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      options.onWriteFailed?.(`writing ${partialPath} failed (${writeError}) after ${counts.prompt + counts['tool-use'] + counts.stop + counts['session-end']} events: the recording stopped there; ${partialPath} is kept as written so far`);
      return false;
    }
  };
  const counts = { prompt: 0, 'tool-use': 0, stop: 0, 'session-end': 0 };
  writeLine(`${formatter.header()}\n`);

  let finalPath = options.outPath;
  let unrecorded = 0;
  const sessions = new SessionTable();
  const nowMs = (): number => Math.floor(performance.now() - startPerfMs);
  let fileClosed = false;
  const record = (event: HookEvent & { kind: keyof typeof counts }): void => {
    // A call completing after the stop cannot be written (its fd may even be reused by then).
    if (fileClosed) {
      unrecorded += 1;
      return;
    }
    let line: string;
    try {
      line = formatter.event(event);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      unrecorded += 1;
      return;
    }
    // One write per line: a signal never splits one.
    if (writeLine(`${line}\n`)) counts[event.kind] += 1;
    else unrecorded += 1;
  };
  const summary = (): RecordingSummary => ({
    outPath: finalPath,
    ...(writeError !== undefined ? { writeError } : {}),
    events: counts.prompt + counts['tool-use'] + counts.stop + counts['session-end'],
    counts: { ...counts },
    unrecorded,
  });

  /** Records a call; returns the session it belongs to, if any. */
  const onCall = (call: Call): string | undefined => {
    const event = eventOf(call, sessions, nowMs);
    if (event === undefined) unrecorded += 1;
    else if (event !== null) record(event);
    return event?.session;
  };
  // The recorder's own connection pool to the worker, so stopping can close every socket it opened.
  const agent = new http.Agent({ keepAlive: true });
  // The hooks see a 502 when the worker is down; the person running the recorder sees one line per outage.
  let upstreamDown = false;
  const upstreamHealth = {
    answered: () => void (upstreamDown = false),
    failed: (code: string) => {
      if (upstreamDown) return;
      upstreamDown = true;
      options.onUpstreamDown?.(`upstream ${options.upstream.host}:${options.upstream.port} is not answering (${code}): the hooks get 502 and their calls are recorded but not served; start the worker`);
    },
  };
  const server = http.createServer((request, response) => proxy(request, response, options.upstream, agent, onCall, sessions, upstreamHealth));

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => resolve());
    });
  } catch (error) {
    closeSync(fd);
    rmSync(partialPath, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(where, 0, '--listen', `${options.listen.host}:${options.listen.port} cannot be listened on (${code ?? (error as Error).message})`);
  }
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host;

  let stopping: Promise<RecordingSummary> | undefined;
  const stop = (): Promise<RecordingSummary> => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))]);
      clearTimeout(grace);
      server.closeAllConnections();
      await closed;
      agent.destroy();
      try {
        fsyncSync(fd);
      } catch (error) {
        writeError ??= (error as NodeJS.ErrnoException).code ?? 'EIO';
      }
      closeSync(fd);
      fileClosed = true;
      // A recording cut short by a failed write stays in its .partial file, named in the summary.
      if (writeError !== undefined) {
        finalPath = partialPath;
        return summary();
      }
      // A file that appeared at --out while recording is not replaced (unless --force): the
      // recording stays in its .partial file, and the summary says where.
      if (existsSync(options.outPath) && !options.force) {
        finalPath = partialPath;
        return summary();
      }
      renameSync(partialPath, options.outPath);
      return summary();
    })();
    return stopping;
  };
  return { url: `http://${hostInUrl}:${port}`, port, summary, stop };
}

// ---------------------------------------------------------------------------------------------
// The proxy: streams both ways and hands the recorder a copy of what it needs.
// ---------------------------------------------------------------------------------------------

/** A completed call on a recorded route. `body` is undefined when it was too large to keep. */
interface Call {
  readonly route: Route;
  readonly body: Buffer | undefined;
  /** The sessionDbId in the path, for end routes. */
  readonly sessionDbId?: string;
}

type Route = 'init' | 'observations' | 'summarize' | 'end';

function routeOf(method: string | undefined, url: string | undefined): { route: Route; sessionDbId?: string } | undefined {
  const path = (url ?? '').split('?')[0]!;
  if (method === 'POST' && path === '/api/sessions/init') return { route: 'init' };
  if (method === 'POST' && path === '/api/sessions/observations') return { route: 'observations' };
  if (method === 'POST' && path === '/api/sessions/summarize') return { route: 'summarize' };
  const end = /^\/sessions\/([^/]+)(\/complete)?$/.exec(path);
  if (end && ((method === 'POST' && end[2]) || (method === 'DELETE' && !end[2]))) return { route: 'end', sessionDbId: decodeURIComponent(end[1]!) };
  return undefined;
}

interface UpstreamHealth {
  answered(): void;
  failed(code: string): void;
}

function proxy(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  upstream: HostPort,
  agent: http.Agent,
  onCall: (call: Call) => string | undefined,
  sessions: SessionTable,
  health: UpstreamHealth,
): void {
  let matched: ReturnType<typeof routeOf>;
  try {
    matched = routeOf(request.method, request.url);
  } catch {
    // A path that does not decode (DELETE /sessions/%E0%A4%A): answered 400, the recorder goes on.
    request.resume();
    response.writeHead(400, { 'content-type': 'text/plain' });
    response.end('leaksim record: the request path is not valid percent-encoding\n');
    return;
  }
  // Recorded when the request body has arrived; resolves to the call's session (for the init answer).
  const recorded = matched ? new Promise<string | undefined>((resolve) => collect(request, (body) => resolve(onCall({ ...matched, body })))) : undefined;
  const upstreamRequest = http.request(
    { host: upstream.host, port: upstream.port, method: request.method, path: request.url, headers: request.rawHeaders, setHost: false, agent },
    (upstreamResponse) => {
      health.answered();
      response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.statusMessage, upstreamResponse.rawHeaders);
      // The init answer names the sessionDbId that end calls will use; read a copy of it and pair it
      // with this exchange's own request (answers to concurrent inits may come in any order).
      if (matched?.route === 'init') collect(upstreamResponse, (body) => void recorded!.then((session) => session !== undefined && sessions.learnDbId(session, body)));
      upstreamResponse.pipe(response);
    },
  );
  upstreamRequest.on('error', (error) => {
    health.failed((error as NodeJS.ErrnoException).code ?? error.message);
    if (!response.headersSent) {
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`leaksim record: upstream ${upstream.host}:${upstream.port} unreachable (${(error as NodeJS.ErrnoException).code ?? error.message})\n`);
    } else {
      response.destroy(error);
    }
  });
  request.on('error', () => upstreamRequest.destroy());
  request.pipe(upstreamRequest);
}

/** Gathers a copy of a stream's bytes (up to MAX_RECORDED_BODY_BYTES) without consuming it for others. */
function collect(stream: NodeJS.ReadableStream, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= MAX_RECORDED_BODY_BYTES) chunks.push(chunk);
  });
  stream.on('end', () => done(bytes <= MAX_RECORDED_BODY_BYTES ? Buffer.concat(chunks) : undefined));
}

// ---------------------------------------------------------------------------------------------
// From a call to an event. `undefined`: should have been recorded but cannot be; `null`: not recorded by design.
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function parseBody(body: Buffer | undefined): Json | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** A tool input or response as the worker stores it: a string as is, anything else as JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

function eventOf(call: Call, sessions: SessionTable, nowMs: () => number): (HookEvent & { kind: 'prompt' | 'tool-use' | 'stop' | 'session-end' }) | undefined | null {
  if (call.route === 'end') {
    const known = sessions.end(call.sessionDbId!);
    if (known === null) return null; // already ended: the complete and delete routes both end a session once
    if (known === undefined) return undefined;
    return { atMs: nowMs(), kind: 'session-end', session: known.session, project: known.project, reason: 'other' };
  }
  const body = parseBody(call.body);
  const session = body?.contentSessionId;
  if (body === undefined || typeof session !== 'string' || session === '') return undefined;
  switch (call.route) {
    case 'init': {
      const project = typeof body.project === 'string' ? body.project : '';
      const prompt = typeof body.prompt === 'string' ? body.prompt : '';
      sessions.prompted(session, project);
      return { atMs: nowMs(), kind: 'prompt', session, project, promptChars: prompt.length, text: prompt };
    }
    case 'observations': {
      if (typeof body.tool_name !== 'string' || body.tool_name === '') return undefined;
      const inputText = asText(body.tool_input);
      const responseText = asText(body.tool_response);
      const project = sessions.projectOf(session) ?? (typeof body.cwd === 'string' && body.cwd !== '' ? basename(body.cwd) : '');
      return { atMs: nowMs(), kind: 'tool-use', session, project, toolName: body.tool_name, inputChars: inputText.length, responseChars: responseText.length, text: inputText + responseText };
    }
    case 'summarize': {
      const message = typeof body.last_assistant_message === 'string' ? body.last_assistant_message : '';
      return { atMs: nowMs(), kind: 'stop', session, project: sessions.projectOf(session) ?? '', messageChars: message.length, text: message };
    }
  }
}

/**
 * What the recorder remembers about sessions, bounded: Map keeps insertion order, so touching an
 * entry re-inserts it and the first key is the least recently used, evicted in O(1).
 */
class SessionTable {
  readonly #projects = new Map<string, string>();
  /** sessionDbId → the Claude Code session, and whether an end was recorded since its last init. */
  readonly #byDbId = new Map<string, { session: string; project: string; ended: boolean }>();
  prompted(session: string, project: string): void {
    touch(this.#projects, session, project);
  }

  projectOf(session: string): string | undefined {
    return this.#projects.get(session);
  }

  /** Reads `sessionDbId` from the answer to `session`'s init call. */
  learnDbId(session: string, body: Buffer | undefined): void {
    const id = parseBody(body)?.sessionDbId;
    if (typeof id !== 'number' && typeof id !== 'string') return;
    touch(this.#byDbId, String(id), { session, project: this.#projects.get(session) ?? '', ended: false });
  }

  /** The session a sessionDbId belongs to; null if its end was already recorded; undefined if unknown. */
  end(sessionDbId: string): { session: string; project: string } | null | undefined {
    const known = this.#byDbId.get(sessionDbId);
    if (known === undefined) return undefined;
    if (known.ended) return null;
    known.ended = true;
    return known;
  }
}

function touch<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED_SESSIONS) map.delete(map.keys().next().value!);
}
