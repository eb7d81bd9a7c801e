/**
 * Properties of history trimming and of settings files, on their own: the two places where a
 * wrong edge case turns into a leak (a bound not kept) or a silent misconfiguration.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConversationHistory, estimateTokens, trimHistory, type ConversationMessage, type Role } from '../../src/history.ts';
import { InputError } from '../../src/input-error.ts';
import { DEFAULT_SETTINGS, parseSettings, SETTING_KEYS } from '../../src/settings.ts';
import { referenceRuns, timeoutFor } from './support/runs.ts';

const QUICK_RUNS = 300;

const limitsArbitrary = fc.record({ maxHistoryMessages: fc.integer({ min: 3, max: 10 }), maxHistoryTokens: fc.integer({ min: 2, max: 400 }) });

/** Messages with unique, self-describing content (`#7 user: ...`), so each kept one can be traced to what was appended. */
const appendsArbitrary = fc.array(fc.record({ role: fc.constantFrom<Role>('user', 'assistant'), chars: fc.integer({ min: 0, max: 300 }) }), { maxLength: 40 });

function message(index: number, role: Role, chars: number): ConversationMessage {
  const tag = `#${index} ${role}:`;
  return { role, content: chars <= tag.length ? tag.slice(0, Math.max(chars, 0)) : tag.padEnd(chars, '.') };
}

/** A kept message is the appended one, or its beginning when it was cut to fit. */
function keptFrom(kept: ConversationMessage, original: ConversationMessage): boolean {
  return kept.role === original.role && original.content.startsWith(kept.content) && (kept.content.length > 0) === (original.content.length > 0);
}

describe('history trimming', () => {
  it('respects both bounds, keeps the pinned prompt and an in-order suffix of the rest, never leaves an orphan reply first, and is idempotent', () => {
    fc.assert(
      fc.property(limitsArbitrary, fc.integer({ min: 1, max: 1_200 }), appendsArbitrary, (limits, pinnedChars, appends) => {
        const history = new ConversationHistory(limits);
        const pinned = message(0, 'user', pinnedChars);
        history.pin(pinned);
        const appended: ConversationMessage[] = [];
        appends.forEach(({ role, chars }, index) => {
          const next = message(index + 1, role, chars);
          appended.push(next);
          const { removed } = history.append(next);
          const all = history.toArray();
          // Both bounds, the pinned prompt counted.
          expect(all.length).toBeLessThanOrEqual(limits.maxHistoryMessages);
          expect(history.tokens).toBeLessThanOrEqual(limits.maxHistoryTokens);
          expect(history.tokens).toBe(all.reduce((sum, kept) => sum + estimateTokens(kept.content), 0));
          // The pinned prompt first, whole or cut to at most half the budget.
          expect(all[0]!.role).toBe('user');
          expect(pinned.content.startsWith(all[0]!.content)).toBe(true);
          expect(estimateTokens(all[0]!.content)).toBeLessThanOrEqual(Math.floor(limits.maxHistoryTokens / 2));
          // The rest: the newest appended messages, in order, with none skipped.
          const rest = all.slice(1);
          const suffix = appended.slice(appended.length - rest.length);
          rest.forEach((kept, at) => expect(keptFrom(kept, suffix[at]!), `kept message ${at} is not appended message ${appended.length - rest.length + at + 1}`).toBe(true));
          // A trim never leaves a reply first (its prompt is gone). (An append of a reply after nothing
          // may put one there; that is the caller's order, not the trim's doing.)
          if (removed > 0 && rest.length > 0) expect(rest[0]!.role).toBe('user');
          // Idempotent: trimming a trimmed history changes nothing.
          expect(trimHistory(history)).toBe(0);
          expect(history.toArray()).toEqual(all);
        });
        expect(history.trimmedMessages).toBe(appended.length - (history.length - 1));
      }),
      referenceRuns(QUICK_RUNS),
    );
  }, timeoutFor(QUICK_RUNS));
});

const KEYS = SETTING_KEYS.map((spec) => spec.key);

/** Values that a settings file might hold: good ones, out-of-range ones, and the wrong types. */
const settingValue = fc.oneof(
  fc.integer({ min: 0, max: 200_000 }).map(String),
  fc.integer({ min: 0, max: 200_000 }),
  fc.constantFrom('', ' 5 ', '5m', '1e3', '-1', '0x10', '3.5', '１２'),
  fc.string({ maxLength: 6 }),
  fc.constantFrom(null, true, false),
  fc.double(),
  fc.constant({ nested: '5' }),
  fc.constant(['5']),
);

const settingsObject = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), settingValue, { maxKeys: 6 });

/** Whole settings texts: objects as claude-mem writes them, other JSON, and text that is not JSON at all. */
const settingsText = fc.oneof(
  { weight: 6, arbitrary: settingsObject.map((object) => JSON.stringify(object, null, 2)) },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

describe('settings files', () => {
  it('any settings text either loads to valid settings or fails with an InputError naming the bad key', () => {
    fc.assert(
      fc.property(settingsText, (text) => {
        let parsedObject: Record<string, unknown> | undefined;
        try {
          const value: unknown = JSON.parse(text);
          if (value !== null && typeof value === 'object' && !Array.isArray(value)) parsedObject = value as Record<string, unknown>;
        } catch {
          parsedObject = undefined;
        }
        let settings;
        try {
          settings = parseSettings(text, 'settings.json');
        } catch (error) {
          expect(error).toBeInstanceOf(InputError);
          const inputError = error as InputError;
          expect(inputError.file).toBe('settings.json');
          if (parsedObject === undefined) {
            // Not a JSON object: the whole file is at fault.
            expect(inputError.field).toBe('');
            return;
          }
          // A known key that is present, named in the message with the value it had.
          expect(KEYS).toContain(inputError.field);
          expect(Object.hasOwn(parsedObject, inputError.field)).toBe(true);
          expect(inputError.message).toContain(inputError.field);
          expect(inputError.message).toContain(JSON.stringify(parsedObject[inputError.field]));
          return;
        }
        expect(parsedObject).toBeDefined();
        for (const spec of SETTING_KEYS) {
          const value = settings[spec.field];
          if (Object.hasOwn(parsedObject!, spec.key)) {
            expect(value).toBe(Number(String(parsedObject![spec.key]).trim()) * spec.scale);
          } else {
            expect(value).toBe(DEFAULT_SETTINGS[spec.field]);
          }
          expect(value / spec.scale).toBeGreaterThanOrEqual(spec.min);
          expect(value / spec.scale).toBeLessThanOrEqual(spec.max);
          expect(Number.isInteger(value / spec.scale)).toBe(true);
        }
        // A history bound the manager can be built with.
        expect(() => new ConversationHistory(settings)).not.toThrow();
      }),
      referenceRuns(QUICK_RUNS),
    );
  }, timeoutFor(QUICK_RUNS));
});
