/**
 * Hook traffic as the simulator replays it: what Claude Code's hooks make the worker see, one
 * event per hook call, plus the two faults that happen to the whole worker (a restart, a sleep).
 * Generated traffic, recorded traffic and traffic imported from transcripts all become these.
 *
 * Times are milliseconds from the run's time origin. Sizes are in characters of content; `text`
 * is present only when the content itself was kept (recordings keep sizes and a keyed hash by
 * default, see sim/traffic-file/).
 */

export type SessionStartSource = 'startup' | 'resume' | 'clear' | 'compact';
export type SessionEndReason = 'clear' | 'logout' | 'prompt_input_exit' | 'other';

interface SessionEventBase {
  readonly atMs: number;
  /** Claude Code's session id (claude-mem's contentSessionId). */
  readonly session: string;
  readonly project: string;
}

/** SessionStart: claude-mem reads context; the session manager is not involved. */
export interface SessionStartEvent extends SessionEventBase {
  readonly kind: 'session-start';
  readonly source: SessionStartSource;
}

/** UserPromptSubmit: records the prompt, then initializes (or refreshes) the session in memory. */
export interface PromptEvent extends SessionEventBase {
  readonly kind: 'prompt';
  readonly promptChars: number;
  readonly text?: string;
  /** HMAC-SHA256 of the content, as read from a recording that dropped it (see sim/traffic-file/). */
  readonly hash?: string;
}

/** PostToolUse: queues an observation for the session's generator. */
export interface ToolUseEvent extends SessionEventBase {
  readonly kind: 'tool-use';
  readonly toolName: string;
  readonly inputChars: number;
  readonly responseChars: number;
  /** The tool input followed by the tool response (so `text.length === inputChars + responseChars`). */
  readonly text?: string;
  readonly hash?: string;
}

/** Stop: after each assistant turn, queues a summarize request. */
export interface StopEvent extends SessionEventBase {
  readonly kind: 'stop';
  readonly messageChars: number;
  readonly text?: string;
  readonly hash?: string;
}

/** SessionEnd: 8.5.7 called nothing; later versions call the complete route. */
export interface SessionEndEvent extends SessionEventBase {
  readonly kind: 'session-end';
  readonly reason: SessionEndReason;
}

/** The worker process dies and comes back: memory is lost, the persisted queue is kept. */
export interface WorkerRestartEvent {
  readonly kind: 'worker-restart';
  readonly atMs: number;
}

/** The laptop sleeps: the worker is frozen for `durationMs`, then every due timer fires at once. */
export interface SleepEvent {
  readonly kind: 'sleep';
  readonly atMs: number;
  readonly durationMs: number;
}

export type SessionEvent = SessionStartEvent | PromptEvent | ToolUseEvent | StopEvent | SessionEndEvent;
export type HookEvent = SessionEvent | WorkerRestartEvent | SleepEvent;
export type HookKind = HookEvent['kind'];

export const HOOK_KINDS: readonly HookKind[] = ['session-start', 'prompt', 'tool-use', 'stop', 'session-end', 'worker-restart', 'sleep'];

/** Hook events proper (what a hook script sends), as opposed to worker faults. */
export function isSessionEvent(event: HookEvent): event is SessionEvent {
  return event.kind !== 'worker-restart' && event.kind !== 'sleep';
}
