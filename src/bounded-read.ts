/**
 * The one way leaksim reads a whole file it is given: refused by type before it is opened (a
 * folder, a FIFO, a device, a socket: only regular files; opening a FIFO would wait for a writer
 * for ever, and /dev/zero never ends), then read in chunks, counting the bytes as they come and
 * stopping past the limit. The size in `stat` is not trusted: it is 0 for a device and can change
 * while the file is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { InputError } from './input-error.ts';

const CHUNK_BYTES = 1024 * 1024;

/** Throws unless `file` is a regular file (following symbolic links); `expected` completes "expected a …". */
export function requireRegularFile(file: string, expected: string): Stats {
  let stat: Stats;
  try {
    stat = statSync(file);
  } catch (error) {
    throw new InputError(file, 0, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (stat.isDirectory()) throw new InputError(file, 0, '', `is a folder, expected ${expected}`);
  if (!stat.isFile()) throw new InputError(file, 0, '', `is not a regular file (${kindOf(stat)}), expected ${expected}`);
  return stat;
}

/** Opens a regular file for reading, checked by type before and after opening (O_NONBLOCK: a FIFO swapped in between cannot block). */
export function openRegularFile(file: string, expected: string): number {
  requireRegularFile(file, expected);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new InputError(file, 0, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new InputError(file, 0, '', `is not a regular file, expected ${expected}`);
  }
  return fd;
}

/**
 * A regular file's bytes, at most `maxBytes` of them: past that, one line naming the file, the
 * limit and its constant (`limitName`), counted while reading.
 */
export function readBoundedFile(file: string, maxBytes: number, limitName: string, expected: string): Buffer {
  const fd = openRegularFile(file, expected);
  const pieces: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      let read: number;
      try {
        read = readSync(fd, chunk, 0, CHUNK_BYTES, null);
      } catch (error) {
        throw new InputError(file, 0, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      if (read === 0) break;
      total += read;
      if (total > maxBytes) throw new InputError(file, 0, '', `is more than ${maxBytes} bytes, the limit for ${expected} (${limitName})`);
      pieces.push(read === CHUNK_BYTES ? chunk : chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(pieces, total);
}

/** readBoundedFile as UTF-8 text. */
export function readBoundedText(file: string, maxBytes: number, limitName: string, expected: string): string {
  return readBoundedFile(file, maxBytes, limitName, expected).toString('utf8');
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a file';
}
