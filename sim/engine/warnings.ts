/**
 * Node process warnings raised while a target runs (MaxListenersExceededWarning and the like) are
 * captured, not poured onto stderr: one 30-day run of a leaking target printed 191,724 lines. Each
 * kind is counted, with its first message and where it was first raised (the first stack frame
 * outside Node's own code, relative to the working directory), for the report.
 *
 * `process.emitWarning` is replaced for the run and restored after it: Node raises these warnings
 * through it, and a 'warning' listener alone would not stop the default printing.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ProcessWarningSummary {
  /** The warning's name, e.g. `MaxListenersExceededWarning`. */
  readonly kind: string;
  readonly count: number;
  /** The first one's message, first line. */
  readonly message: string;
  /** Where the first one was raised: "at AgentRun.begin (sim/engine/agent.ts:152:12)". */
  readonly firstStackLine: string;
}

type EmitWarning = typeof process.emitWarning;

export class WarningCapture {
  readonly #kinds = new Map<string, { count: number; message: string; firstStackLine: string }>();
  #original: EmitWarning | undefined;

  install(): void {
    if (this.#original) return;
    this.#original = process.emitWarning;
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => this.#record(warning, rest)) as EmitWarning;
  }

  uninstall(): void {
    if (this.#original) process.emitWarning = this.#original;
    this.#original = undefined;
  }

  summary(): ProcessWarningSummary[] {
    return [...this.#kinds].map(([kind, entry]) => ({ kind, ...entry }));
  }

  #record(warning: string | Error, rest: unknown[]): void {
    const kind = typeof warning === 'string' ? warningType(rest) : warning.name;
    const entry = this.#kinds.get(kind);
    if (entry) {
      entry.count += 1;
      return;
    }
    const message = (typeof warning === 'string' ? warning : warning.message).split('\n')[0]!;
    const stack = (typeof warning === 'string' ? new Error(message).stack : warning.stack) ?? '';
    this.#kinds.set(kind, { count: 1, message, firstStackLine: firstOwnFrame(stack) });
  }
}

function warningType(rest: unknown[]): string {
  const [typeOrOptions] = rest;
  if (typeof typeOrOptions === 'string') return typeOrOptions;
  if (typeOrOptions && typeof typeOrOptions === 'object' && typeof (typeOrOptions as { type?: unknown }).type === 'string') return (typeOrOptions as { type: string }).type;
  return 'Warning';
}

/** The first stack frame outside Node's internals and this file, with paths made relative. */
function firstOwnFrame(stack: string): string {
  const frames = stack.split('\n').slice(1).map((line) => line.trim());
  const own = frames.find((frame) => frame.startsWith('at ') && !frame.includes('node:') && !frame.includes('sim/engine/warnings.ts')) ?? frames[0] ?? '(no stack)';
  return own.replace(/(file:\/\/[^\s)]+)/g, (url) => relativePath(fileURLToPath(url))).replace(new RegExp(`${escape(process.cwd())}/`, 'g'), '');
}

function relativePath(path: string): string {
  return relative(process.cwd(), path) || path;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
