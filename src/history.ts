/**
 * Conversation history with bounds, trimmed in place.
 *
 * claude-mem appended every prompt and reply to `session.conversationHistory` and never removed
 * one; OpenRouter's truncation only trimmed the copy it sent. Here the history itself is bounded:
 *
 * - at most `maxHistoryMessages` messages and `maxHistoryTokens` estimated tokens, both counting
 *   the pinned init prompt;
 * - the init prompt is pinned: it is never trimmed, because every later prompt assumes it;
 * - the oldest unpinned messages go first, so what remains is the pinned prompt plus a suffix of
 *   the rest, in order;
 * - after a trim the first unpinned message is never an assistant reply: a reply whose prompt was
 *   trimmed is trimmed too (an answer without its question misleads the provider). So when the
 *   newest reply and its prompt cannot both fit, both go.
 * - one message larger than the room it could ever have is cut to fit, keeping its beginning
 *   (where the tool name and instructions are) and counted in `truncatedMessages`. The pinned
 *   prompt may use at most half the token budget; any later message at most the budget minus the
 *   pinned prompt. Cutting, rather than keeping it whole or dropping it, keeps both bounds true at
 *   every moment and keeps the newest context.
 *
 * Cost: `append` is O(1 + removed) amortized. Messages live in an array read from a moving head
 * index; the consumed prefix is compacted away only once it is at least half the array, so each
 * message is copied at most once more on average. Token and character totals are kept running.
 */

export type Role = 'user' | 'assistant';

export interface ConversationMessage {
  readonly role: Role;
  readonly content: string;
}

export interface HistoryLimits {
  readonly maxHistoryMessages: number;
  readonly maxHistoryTokens: number;
}

/** Characters per estimated token: the rough rule OpenRouter's truncation used (length / 4). */
export const CHARS_PER_TOKEN = 4;

/** Estimated tokens of a message's content: ceil(characters / 4). Cheap, monotonic, and pessimistic enough for English and code. */
export function estimateTokens(content: string): number {
  return Math.ceil(content.length / CHARS_PER_TOKEN);
}

/** Below this many consumed slots the array is never compacted: copying a tiny array buys nothing. */
const COMPACT_MIN_HEAD = 32;

export interface AppendResult {
  /** Messages removed from the front to restore the bounds. */
  readonly removed: number;
  /** Whether the appended message itself was cut to fit. */
  readonly truncated: boolean;
}

export class ConversationHistory {
  readonly #limits: HistoryLimits;
  #pinned: ConversationMessage | undefined;
  #items: (ConversationMessage | undefined)[] = [];
  #head = 0;
  #tokens = 0;
  #chars = 0;
  #trimmedMessages = 0;
  #truncatedMessages = 0;

  constructor(limits: HistoryLimits) {
    if (!(limits.maxHistoryMessages >= 3)) throw new RangeError('maxHistoryMessages must be at least 3 (pinned prompt, prompt, reply)');
    if (!(limits.maxHistoryTokens >= 2)) throw new RangeError('maxHistoryTokens must be at least 2');
    this.#limits = limits;
  }

  /** Messages held, the pinned prompt included. */
  get length(): number {
    return this.#items.length - this.#head + (this.#pinned ? 1 : 0);
  }

  get tokens(): number {
    return this.#tokens;
  }

  get chars(): number {
    return this.#chars;
  }

  /** Messages removed by trimming over this history's life: context the agent no longer sees. */
  get trimmedMessages(): number {
    return this.#trimmedMessages;
  }

  get truncatedMessages(): number {
    return this.#truncatedMessages;
  }

  get pinned(): ConversationMessage | undefined {
    return this.#pinned;
  }

  /** The first message: the pinned prompt when there is one. */
  first(): ConversationMessage | undefined {
    return this.#pinned ?? this.#items[this.#head];
  }

  /** Pins the init prompt. Only an empty history takes one. */
  pin(message: ConversationMessage): void {
    if (this.length > 0) throw new Error('the init prompt can only be pinned in an empty history');
    const room = Math.floor(this.#limits.maxHistoryTokens / 2);
    const fitted = this.#fit(message, room);
    this.#pinned = fitted;
    this.#add(fitted);
  }

  /** Appends a message, then trims the front until both bounds hold. */
  append(message: ConversationMessage): AppendResult {
    const room = this.#limits.maxHistoryTokens - (this.#pinned ? estimateTokens(this.#pinned.content) : 0);
    const fitted = this.#fit(message, room);
    this.#items.push(fitted);
    this.#add(fitted);
    return { removed: this.trim(), truncated: fitted !== message };
  }

  /**
   * Removes the oldest unpinned messages until both bounds hold, then any reply left first.
   * Idempotent: a history within its bounds is left as it is. Returns how many were removed.
   */
  trim(): number {
    const { maxHistoryMessages, maxHistoryTokens } = this.#limits;
    let removed = 0;
    while (this.#head < this.#items.length && (this.length > maxHistoryMessages || this.#tokens > maxHistoryTokens)) {
      this.#removeFront();
      removed += 1;
    }
    if (removed > 0) {
      while (this.#head < this.#items.length && this.#items[this.#head]!.role === 'assistant') {
        this.#removeFront();
        removed += 1;
      }
      this.#trimmedMessages += removed;
      this.#compact();
    }
    return removed;
  }

  toArray(): ConversationMessage[] {
    const out = this.#pinned ? [this.#pinned] : [];
    for (let index = this.#head; index < this.#items.length; index += 1) out.push(this.#items[index]!);
    return out;
  }

  [Symbol.iterator](): Iterator<ConversationMessage> {
    return this.toArray()[Symbol.iterator]();
  }

  #fit(message: ConversationMessage, roomTokens: number): ConversationMessage {
    if (estimateTokens(message.content) <= roomTokens) return message;
    this.#truncatedMessages += 1;
    return { role: message.role, content: message.content.slice(0, Math.max(0, roomTokens) * CHARS_PER_TOKEN) };
  }

  #add(message: ConversationMessage): void {
    this.#tokens += estimateTokens(message.content);
    this.#chars += message.content.length;
  }

  #removeFront(): void {
    const message = this.#items[this.#head]!;
    this.#items[this.#head] = undefined;
    this.#head += 1;
    this.#tokens -= estimateTokens(message.content);
    this.#chars -= message.content.length;
  }

  #compact(): void {
    if (this.#head >= COMPACT_MIN_HEAD && this.#head * 2 >= this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** Trims `history` in place to its limits; returns how many messages were removed. */
export function trimHistory(history: ConversationHistory): number {
  return history.trim();
}
