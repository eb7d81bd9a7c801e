import { describe, expect, it } from 'vitest';
import { ConversationHistory, estimateTokens, trimHistory, type ConversationMessage } from '../../src/history.ts';

const user = (content: string): ConversationMessage => ({ role: 'user', content });
const assistant = (content: string): ConversationMessage => ({ role: 'assistant', content });

function contents(history: ConversationHistory): string[] {
  return history.toArray().map((message) => message.content);
}

describe('ConversationHistory', () => {
  it('estimates a token as four characters, rounded up', () => {
    expect([estimateTokens(''), estimateTokens('abc'), estimateTokens('abcd'), estimateTokens('abcde')]).toEqual([0, 1, 1, 2]);
  });

  it('keeps the pinned init prompt and the newest messages within the message count', () => {
    const history = new ConversationHistory({ maxHistoryMessages: 5, maxHistoryTokens: 10_000 });
    history.pin(user('init'));
    for (let turn = 1; turn <= 6; turn += 1) {
      history.append(user(`q${turn}`));
      history.append(assistant(`a${turn}`));
    }
    expect(contents(history)).toEqual(['init', 'q5', 'a5', 'q6', 'a6']);
    expect(history.length).toBe(5);
    expect(history.trimmedMessages).toBe(8);
  });

  it('trims to the token budget, counting the pinned prompt', () => {
    const history = new ConversationHistory({ maxHistoryMessages: 100, maxHistoryTokens: 10 });
    history.pin(user('init'.repeat(2))); // 2 tokens
    for (let index = 0; index < 5; index += 1) history.append(user(`m${index}`.padEnd(8, '.'))); // 2 tokens each
    expect(history.tokens).toBeLessThanOrEqual(10);
    expect(contents(history)).toEqual(['initinit', 'm1......', 'm2......', 'm3......', 'm4......']);
  });

  it('never leaves a reply first: a reply whose prompt was trimmed goes too', () => {
    const history = new ConversationHistory({ maxHistoryMessages: 4, maxHistoryTokens: 10_000 });
    history.pin(user('init'));
    history.append(user('q1'));
    history.append(assistant('a1'));
    history.append(assistant('a1 continued'));
    const { removed } = history.append(user('q2'));
    // Over by one: q1 goes, and the two replies that answered it must not be left first.
    expect(removed).toBe(3);
    expect(contents(history)).toEqual(['init', 'q2']);
  });

  it('cuts a single message larger than the budget, keeping its beginning', () => {
    const history = new ConversationHistory({ maxHistoryMessages: 10, maxHistoryTokens: 100 });
    history.pin(user('x'.repeat(1_000))); // the pinned prompt gets at most half the budget
    expect(history.pinned!.content).toBe('x'.repeat(200));
    const result = history.append(assistant(`head${'y'.repeat(5_000)}`));
    expect(result.truncated).toBe(true);
    expect(history.tokens).toBeLessThanOrEqual(100);
    expect(history.toArray()[1]!.content.startsWith('head')).toBe(true);
    expect(history.truncatedMessages).toBe(2);
  });

  it('trims in place and is idempotent', () => {
    const history = new ConversationHistory({ maxHistoryMessages: 3, maxHistoryTokens: 10_000 });
    history.pin(user('init'));
    history.append(user('q1'));
    history.append(assistant('a1'));
    const before = contents(history);
    expect(trimHistory(history)).toBe(0);
    expect(trimHistory(history)).toBe(0);
    expect(contents(history)).toEqual(before);
  });

  it('costs O(removed): a long run of appends keeps its storage bounded', () => {
    const history = new ConversationHistory({ maxHistoryMessages: 50, maxHistoryTokens: 1_000_000 });
    history.pin(user('init'));
    for (let index = 0; index < 100_000; index += 1) history.append(index % 2 ? assistant('a') : user('q'));
    const messages = history.toArray();
    // 49 slots after the pin; a reply left first by the last trim went with its prompt.
    expect(messages).toHaveLength(49);
    expect(history.length).toBe(49);
    expect(messages[1]!.role).toBe('user');
    expect(history.chars).toBe(messages.reduce((sum, message) => sum + message.content.length, 0));
    expect(history.trimmedMessages).toBe(100_000 - 48);
  });

  it('refuses limits that leave no room for a prompt and its reply', () => {
    expect(() => new ConversationHistory({ maxHistoryMessages: 2, maxHistoryTokens: 100 })).toThrow(/at least 3/);
  });

  it('takes a pinned prompt only when empty', () => {
    const history = new ConversationHistory({ maxHistoryMessages: 3, maxHistoryTokens: 100 });
    history.append(user('q'));
    expect(() => history.pin(user('init'))).toThrow(/empty history/);
  });
});
