import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, loadSettings, MINUTE_MS, parseSettings, SETTING_KEYS, settingsFileText } from '../../src/settings.ts';
import { inputErrorOf } from '../helpers/input-error.ts';


describe('retention settings', () => {
  it('defaults to a 60-minute TTL, 100 sessions, 50 messages and 100,000 tokens', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ ttlMs: 60 * MINUTE_MS, maxActiveSessions: 100, maxHistoryMessages: 50, maxHistoryTokens: 100_000 });
  });

  it('reads a claude-mem settings file of string values and ignores unknown keys', () => {
    const settings = parseSettings(
      JSON.stringify({
        CLAUDE_MEM_MODEL: 'claude-sonnet-4-5',
        CLAUDE_MEM_SESSION_TTL_MINUTES: '30',
        CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '20',
        CLAUDE_MEM_MAX_CONVERSATION_HISTORY: '40',
        CLAUDE_MEM_MAX_HISTORY_TOKENS: '50000',
      }),
    );
    expect(settings).toMatchObject({ ttlMs: 30 * MINUTE_MS, maxActiveSessions: 20, maxHistoryMessages: 40, maxHistoryTokens: 50_000 });
    expect(settings.generatorIdleTimeoutMs).toBe(DEFAULT_SETTINGS.generatorIdleTimeoutMs);
  });

  it.each([
    ['not a number', '"abc"'],
    ['zero', '"0"'],
    ['negative', '"-5"'],
    ['absurdly large', '"999999999"'],
    ['a fraction', '"1.5"'],
    ['not a string or number', 'true'],
  ])('refuses a value that is %s, naming the key, the value and the line', (_, value) => {
    const text = `{\n  "CLAUDE_MEM_MODEL": "x",\n  "CLAUDE_MEM_SESSION_TTL_MINUTES": ${value}\n}`;
    const error = inputErrorOf(() => parseSettings(text, 'settings.json'));
    expect(error.field).toBe('CLAUDE_MEM_SESSION_TTL_MINUTES');
    expect(error.line).toBe(3);
    expect(error.message).toContain(`settings.json:3: CLAUDE_MEM_SESSION_TTL_MINUTES expected a whole number of minutes from 1 to 43200, got ${value}`);
  });

  it('refuses a file that is not a JSON object', () => {
    expect(inputErrorOf(() => parseSettings('[1]', 'settings.json')).message).toBe('settings.json:1: must be a JSON object of string values');
    expect(inputErrorOf(() => parseSettings('{', 'settings.json')).message).toMatch(/^settings\.json:1: is not valid JSON/);
  });

  it('loads from a file, and names a file it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaksim-settings-'));
    const file = join(dir, 'settings.json');
    writeFileSync(file, '{"CLAUDE_MEM_MAX_ACTIVE_SESSIONS": "7"}');
    expect(loadSettings(file).maxActiveSessions).toBe(7);
    expect(inputErrorOf(() => loadSettings(join(dir, 'missing.json'))).message).toContain('missing.json: cannot be read (ENOENT)');
  });

  it('writes settings as claude-mem writes settings.json, and reads them back unchanged', () => {
    const settings = { ...DEFAULT_SETTINGS, ttlMs: 15 * MINUTE_MS, maxActiveSessions: 7 };
    const text = settingsFileText(settings);
    expect(JSON.parse(text)).toEqual({
      CLAUDE_MEM_SESSION_TTL_MINUTES: '15',
      CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '7',
      CLAUDE_MEM_MAX_CONVERSATION_HISTORY: '50',
      CLAUDE_MEM_MAX_HISTORY_TOKENS: '100000',
    });
    expect(parseSettings(text, 'settings.json', DEFAULT_SETTINGS)).toEqual(settings);
  });

  it('leaves out what the file cannot state (a TTL of part of a minute, a value past its bound), which the reader then keeps from its base', () => {
    const settings = { ...DEFAULT_SETTINGS, ttlMs: 90_000, maxHistoryTokens: 40 };
    const text = settingsFileText(settings);
    expect(Object.keys(JSON.parse(text))).toEqual(['CLAUDE_MEM_MAX_ACTIVE_SESSIONS', 'CLAUDE_MEM_MAX_CONVERSATION_HISTORY']);
    expect(parseSettings(text, 'settings.json', settings)).toEqual(settings);
  });

  it('a reader with a unit slip (the TTL taken in seconds) reads the same file 60 times shorter: what the gate now sees', () => {
    const slipped = SETTING_KEYS.map((spec) => (spec.field === 'ttlMs' ? { ...spec, scale: 1_000 } : spec));
    const text = settingsFileText(DEFAULT_SETTINGS);
    expect(parseSettings(text, 'settings.json', DEFAULT_SETTINGS, slipped).ttlMs).toBe(DEFAULT_SETTINGS.ttlMs / 60);
  });
});
