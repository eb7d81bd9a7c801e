/**
 * Bad input is a value, not a crash: every reader in leaksim throws this one type, carrying the
 * file, the 1-based line (0 when the whole file is at fault), the field, and what was expected.
 * The CLI turns it into one line on stderr and exit code 2.
 */
export class InputError extends Error {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly problem: string;

  constructor(file: string, line: number, field: string, problem: string) {
    const where = line > 0 ? `${file}:${line}` : file;
    super(field ? `${where}: ${field} ${problem}` : `${where}: ${problem}`);
    this.name = 'InputError';
    this.file = file;
    this.line = line;
    this.field = field;
    this.problem = problem;
  }
}

/** 1-based line number of a character offset in `text` (1 when the offset is unknown). */
export function lineOfOffset(text: string, offset: number): number {
  if (offset < 0) return 1;
  let line = 1;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) line += 1;
  return line;
}
