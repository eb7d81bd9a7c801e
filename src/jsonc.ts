/**
 * jsonc-parser, loaded with `require`. Its package offers Node only a UMD (CommonJS) build, and
 * an ESM `import` of a CommonJS module makes Node start its CommonJS lexer and scan the module's
 * source for export names first: with fake-timers, the same way round, a third of a check
 * worker's start (npm run bench -- --only startup). `require` skips both.
 */
import { createRequire } from 'node:module';
import type * as JsoncParser from 'jsonc-parser';

export type { Node, ParseError } from 'jsonc-parser';

const jsonc = createRequire(import.meta.url)('jsonc-parser') as typeof JsoncParser;

export const { findNodeAtLocation, parse, parseTree, printParseErrorCode } = jsonc;
