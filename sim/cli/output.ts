/** Where commands print. The process edge writes to stdout/stderr; tests collect lines. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** True when stderr is a terminal: progress lines are shown only then. */
  readonly interactive: boolean;
  /** Rewrites the current progress line (terminal only). */
  progress(line: string): void;
}

export type Command = (args: readonly string[], output: Output) => Promise<number>;

export function processOutput(): Output {
  const interactive = Boolean(process.stderr.isTTY) && process.env.CI !== 'true';
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    interactive,
    progress: (line) => {
      if (interactive) process.stderr.write(`\r\x1b[2K${line}`);
    },
  };
}

export interface CollectedOutput extends Output {
  readonly stdout: string[];
  readonly stderr: string[];
}

export function collectOutput(): CollectedOutput {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => void stdout.push(line), err: (line) => void stderr.push(line), interactive: false, progress: () => {} };
}
