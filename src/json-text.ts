/**
 * Reading the JSON files leaksim is given (scenarios, settings, heap baselines, expectation files):
 * bounded before anything parses them. A file larger than MAX_JSON_FILE_BYTES or nested deeper than
 * MAX_JSON_DEPTH is refused with one line naming the file and the line; a UTF-8 byte-order mark is
 * accepted (editors on Windows write one) and dropped. Offsets reported by parsers are turned into
 * line and column here, so every message points at the real place.
 *
 * Traffic files are JSON Lines with flat records and are bounded per line by their reader
 * (sim/traffic-file/reader.ts, format.ts).
 */
import { parseTree, type Node, type ParseError } from './jsonc.ts';
import { readBoundedText } from './bounded-read.ts';
import { InputError, lineOfOffset } from './input-error.ts';

/** Scenario, settings and baselines files are a few kilobytes; this is a thousand times that. */
export const MAX_JSON_FILE_BYTES = 4 * 1024 * 1024;
/** Objects and arrays inside one another. Ours nest four levels; parsers that recurse overflow in the thousands. */
export const MAX_JSON_DEPTH = 64;

/** Reads a JSON file's text: size-checked, BOM dropped, depth-checked. */
export function readJsonText(file: string): string {
  // A device or a pipe could be read for ever (/dev/zero): only regular files, counted while read.
  return checkedJsonText(readBoundedText(file, MAX_JSON_FILE_BYTES, 'MAX_JSON_FILE_BYTES', 'a JSON file'), file);
}

/** Text already in memory, checked the same way. */
export function checkedJsonText(text: string, file: string): string {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  checkJsonDepth(body, file);
  checkJsonValues(body, file);
  return body;
}

/**
 * Every JSON file leaksim reads goes through here, so a key given twice or a number out of range is
 * refused alike in scenarios, settings, expect files and baselines. Text that is not valid JSON is
 * left to the caller's parser, which says where it breaks.
 */
export function checkJsonValues(text: string, file: string): void {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (tree && errors.length === 0) checkTreeValues(tree, text, file);
}


/** Throws when brackets nest deeper than MAX_JSON_DEPTH (strings skipped). One linear pass, no recursion. */
export function checkJsonDepth(text: string, file: string, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index += 1; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      if (depth > maxDepth) throw new InputError(file, lineOfOffset(text, index), '', `nests objects and arrays deeper than ${maxDepth} levels (MAX_JSON_DEPTH)`);
    } else if (code === 0x5d || code === 0x7d) depth -= 1;
  }
}

/** "line 3, column 14" of a character offset: 1-based both. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const line = lineOfOffset(text, offset);
  const lineStart = text.lastIndexOf('\n', Math.max(0, offset - 1));
  return { line, column: offset - (lineStart === -1 ? 0 : lineStart + 1) + 1 };
}

/**
 * What JSON.parse and the schema cannot be trusted to say: a key given twice (JSON.parse keeps the
 * last; a message would point at the first), a number out of a double's range (1e309 parses as
 * Infinity, and would be shown as null). Refused at the offending place, with its text as written.
 */
function checkTreeValues(node: Node, text: string, file: string, path = ''): void {
  if (node.type === 'object') {
    const seen = new Map<string, number>();
    for (const property of node.children ?? []) {
      const [keyNode, valueNode] = property.children ?? [];
      if (!keyNode) continue;
      const key = String(keyNode.value);
      const name = path ? `${path}.${key}` : key;
      const line = lineOfOffset(text, keyNode.offset);
      const first = seen.get(key);
      if (first !== undefined) {
        const shown = valueNode ? text.slice(valueNode.offset, valueNode.offset + Math.min(valueNode.length, 60)) : '';
        throw new InputError(file, line, name, `is given twice (first on line ${first}, again here as ${shown}): a key may appear once`);
      }
      seen.set(key, line);
      if (valueNode) checkTreeValues(valueNode, text, file, name);
    }
  } else if (node.type === 'array') {
    (node.children ?? []).forEach((child, index) => checkTreeValues(child, text, file, `${path}.${index}`));
  } else if (node.type === 'number' && !Number.isFinite(node.value as number)) {
    throw new InputError(file, lineOfOffset(text, node.offset), path, `is ${text.slice(node.offset, node.offset + Math.min(node.length, 40))}, out of the range of a number`);
  }
}
