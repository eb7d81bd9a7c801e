/**
 * `leaksim record --listen H:P --upstream H:P --out FILE`: records hook traffic by standing in
 * front of a real claude-mem worker until Ctrl-C (or SIGTERM). A thin shell over
 * sim/record/recorder.ts.
 */
import { InputError } from '../../src/input-error.ts';
import { parseHostPort, startRecorder } from '../record/recorder.ts';
import { checkOutputFile } from '../report/report-folder.ts';
import { resolveHashKey } from '../traffic-file/writer.ts';
import type { Output } from './output.ts';
import { parseOptions } from './shared.ts';

const USAGE = `usage: leaksim record --out FILE [options]

Records the hook traffic of a real claude-mem worker: point the hooks at --listen
(e.g. CLAUDE_MEM_WORKER_PORT=37778); every call is forwarded unchanged to --upstream,
and the session calls are written to FILE as they happen. Stop with Ctrl-C.

options:
  --out FILE         traffic file (written as FILE.partial until the recording stops)
  --listen H:P       where the hooks connect; loopback only (default 127.0.0.1:37778)
  --upstream H:P     the real worker (default 127.0.0.1:37777)
  --keep-content     keep prompts, tool input/output and replies in the file
                     (default: sizes and an HMAC-SHA256 of the content only)
  --force            replace --out if a finished recording is there (default: refuse)
  --hash-key KEY     HMAC key (default: $LEAKSIM_HASH_KEY, else a random key for this
                     recording only, so hashes are comparable within this file only)
  -h, --help         show this help`;

const OPTIONS = {
  out: { type: 'string' },
  listen: { type: 'string', default: '127.0.0.1:37778' },
  upstream: { type: 'string', default: '127.0.0.1:37777' },
  'keep-content': { type: 'boolean', default: false },
  'hash-key': { type: 'string' },
  force: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function recordCommand(args: readonly string[], output: Output): Promise<number> {
  return record(args, output, untilSignal);
}

/**
 * The command with its stop trigger given: tests pass their own instead of sending a signal. It is
 * called only once the recorder listens, so a refused start leaves no signal handler behind.
 */
export async function record(args: readonly string[], output: Output, waitForStop: () => Promise<unknown>): Promise<number> {
  const where = 'leaksim record';
  const { values, positionals } = parseOptions('record', args, OPTIONS);
  if (values.help) {
    output.out(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new InputError(where, 0, '', `takes no arguments, got '${positionals[0]}' (see --help)`);
  if (values.out === undefined) throw new InputError(where, 0, '--out', 'is required');
  checkOutputFile(values.out, values.force, { command: where, flag: '--out' });
  const listen = parseHostPort(values.listen, '--listen', where);
  const upstream = parseHostPort(values.upstream, '--upstream', where);
  if (sameEndpoint(listen, upstream)) throw new InputError(where, 0, '--upstream', `${values.upstream} is where the recorder itself listens (--listen ${values.listen}): every call would be forwarded to itself; give the real worker's address`);
  const hashKey = resolveHashKey(values['hash-key'], process.env);

  let writeFailed: (message: string) => void = () => {};
  const failedWrite = new Promise<string>((resolve) => (writeFailed = resolve));
  const recorder = await startRecorder({ listen, upstream, outPath: values.out, keepContent: values['keep-content'], hashKey: hashKey.key, force: values.force, onUpstreamDown: (message) => output.err(`leaksim record: ${message}`), onWriteFailed: (message) => writeFailed(message) });
  output.out(`leaksim record: listening on ${recorder.url}, forwarding to http://${values.upstream}, recording into ${values.out}.partial (Ctrl-C to stop)`);
  const failure = await Promise.race([waitForStop().then(() => undefined), failedWrite]);
  const summary = await recorder.stop();
  if (failure !== undefined || summary.writeError !== undefined) {
    output.err(`leaksim record: ${failure ?? `writing ${summary.outPath} failed (${summary.writeError})`}`);
    return 1;
  }
  const counts = (['prompt', 'tool-use', 'stop', 'session-end'] as const).map((kind) => `${summary.counts[kind]} ${kind}`).join(', ');
  const privacy = values['keep-content'] ? 'content kept' : hashKey.given ? 'content hashed with the given key' : 'content hashed with a random key';
  output.out(`recorded ${summary.events} events into ${summary.outPath} (${counts}; ${summary.unrecorded} calls not recordable; ${privacy})`);
  return 0;
}

/** The same address: equal ports on the same host, or on two loopback spellings (127.0.0.1, localhost, ::1). */
function sameEndpoint(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const loopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');
  return a.host === b.host || (loopback(a.host) && loopback(b.host));
}

/** Resolves on the first SIGINT or SIGTERM. Until then the default (kill) behaviour is replaced. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
