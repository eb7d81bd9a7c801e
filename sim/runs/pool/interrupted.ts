/** Thrown when the check was ended by a signal: the CLI says what was interrupted; no report is written, the previous one stays. */
export class InterruptedError extends Error {
  constructor(
    readonly signal: NodeJS.Signals,
    readonly done: number,
    readonly total: number,
  ) {
    super(`interrupted by ${signal} with ${done} of ${total} runs done`);
    this.name = 'InterruptedError';
  }
}
