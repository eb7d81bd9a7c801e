/**
 * leaksim's stand-in for claude-mem's SQLite side (`DatabaseManager`, `SessionStore`, and at 8.5.x
 * `PendingMessageStore`), which needs Bun's `bun:sqlite`. It keeps exactly the rows the session
 * routes read and write (sessions, user prompts, at 8.5.x pending messages) and maps them onto
 * leaksim's PendingStore, which the checker reads as ground truth:
 *
 *   sdk_sessions row        a PendingStore record (same sessionDbId; its `userPrompt` is the row's
 *                           user_prompt, the first prompt ever, which claude-mem never updates and
 *                           re-creates a session from), plus project, status and memory id here
 *   user_prompts rows       `prompts` here, per content session, numbered from 1
 *   pending_messages (8.5)  PendingStore's queue: claimAndDelete = claim (deleted from the queue, so
 *                           a restart or crash loses it); the bridge acknowledges it once processed
 *
 * The database outlives a worker restart as SQLite does: it is kept per PendingStore.
 * Semantics follow claude-mem's SQL (INSERT OR IGNORE for sessions, COUNT(*) for prompt numbers);
 * rows and methods nothing in the session path reads are left out.
 */
import type { PendingMessage, PendingStore } from '../../../src/pending-store.ts';

export interface SessionRow {
  readonly id: number;
  readonly content_session_id: string;
  /** The same id under its name before 8.x. */
  readonly claude_session_id: string;
  memory_session_id: string | null;
  project: string;
  /** The prompt the row was created with (claude-mem never updates it): what a re-created session starts from. */
  readonly user_prompt: string;
  readonly platform_source: string;
  status: 'active' | 'completed';
}

interface PromptRow {
  readonly id: number;
  readonly content_session_id: string;
  readonly memory_session_id: string | null;
  readonly project: string;
  readonly platform_source: string;
  readonly prompt_number: number;
  readonly prompt_text: string;
  readonly created_at_epoch: number;
}

/** A pending_messages row as 8.5.x's SessionQueueProcessor receives it from claimAndDelete. */
export interface PendingRow {
  readonly id: number;
  readonly session_db_id: number;
  readonly content_session_id: string;
  readonly message_type: 'observation' | 'summarize';
  readonly created_at_epoch: number;
  /** leaksim's message, carried through claude-mem's queue untouched. */
  readonly leaksim: PendingMessage;
}

export class ClaudeMemDatabase {
  readonly store: PendingStore;
  readonly #rows = new Map<number, SessionRow>();
  readonly #prompts = new Map<string, PromptRow[]>();
  #nextPromptId = 1;

  constructor(store: PendingStore) {
    this.store = store;
  }

  /** The database of a store: one per simulated machine, surviving worker restarts. */
  static of(store: PendingStore): ClaudeMemDatabase {
    let database = databases.get(store);
    if (!database) {
      database = new ClaudeMemDatabase(store);
      databases.set(store, database);
    }
    return database;
  }

  // --- DatabaseManager ---------------------------------------------------------------------

  getSessionStore(): this {
    return this;
  }

  /** claude-mem reads `sessionStore.db` to build its queue store; the queue methods are here too. */
  get db(): this {
    return this;
  }

  getChromaSync(): { syncUserPrompt(): Promise<void> } {
    return CHROMA;
  }

  getCloudSync(): null {
    return null;
  }

  // --- SessionStore: sessions ---------------------------------------------------------------

  /** INSERT OR IGNORE: the first call creates the row with this prompt; later calls only fill an empty project. */
  createSDKSession(contentSessionId: string, project: string, userPrompt: string, _customTitle?: string, platformSource?: string): number {
    const existing = this.store.lookup(contentSessionId);
    if (existing) {
      const row = this.#rows.get(existing.sessionDbId)!;
      if (project && !row.project) row.project = project;
      return row.id;
    }
    const record = this.store.recordPrompt(contentSessionId, project, userPrompt);
    record.promptCount = 0;
    this.#rows.set(record.sessionDbId, {
      id: record.sessionDbId,
      content_session_id: contentSessionId,
      claude_session_id: contentSessionId,
      memory_session_id: null,
      project,
      user_prompt: userPrompt,
      platform_source: platformSource || 'claude',
      status: 'active',
    });
    return record.sessionDbId;
  }

  getSessionById(sessionDbId: number): SessionRow | undefined {
    return this.#rows.get(sessionDbId);
  }

  // --- before 8.x: the session's own prompt counter (new-hook.ts incremented it) -------------

  readonly #promptCounters = new Map<number, number>();

  incrementPromptCounter(sessionDbId: number): number {
    const count = (this.#promptCounters.get(sessionDbId) ?? 0) + 1;
    this.#promptCounters.set(sessionDbId, count);
    return count;
  }

  getPromptCounter(sessionDbId: number): number {
    return this.#promptCounters.get(sessionDbId) ?? 0;
  }

  /** The active session row of a hook's session id (the complete-by-id route before 8.x). */
  findActiveSDKSession(contentSessionId: string): SessionRow | undefined {
    const record = this.store.lookup(contentSessionId);
    const row = record ? this.#rows.get(record.sessionDbId) : undefined;
    return row?.status === 'active' ? row : undefined;
  }

  markSessionCompleted(sessionDbId: number): void {
    const row = this.#rows.get(sessionDbId);
    if (row) row.status = 'completed';
  }

  updateMemorySessionId(sessionDbId: number, memorySessionId: string): void {
    const row = this.#rows.get(sessionDbId);
    if (row) row.memory_session_id = memorySessionId;
  }

  // --- SessionStore: user prompts -----------------------------------------------------------

  getPromptNumberFromUserPrompts(contentSessionId: string): number {
    return this.#prompts.get(contentSessionId)?.length ?? 0;
  }

  saveUserPrompt(contentSessionId: string, promptNumber: number, promptText: string): number {
    const record = this.store.lookup(contentSessionId);
    const row = record ? this.#rows.get(record.sessionDbId) : undefined;
    let prompts = this.#prompts.get(contentSessionId);
    if (!prompts) {
      prompts = [];
      this.#prompts.set(contentSessionId, prompts);
    }
    const prompt: PromptRow = {
      id: this.#nextPromptId++,
      content_session_id: contentSessionId,
      memory_session_id: row?.memory_session_id ?? null,
      project: row?.project ?? '',
      platform_source: row?.platform_source ?? 'claude',
      prompt_number: promptNumber,
      prompt_text: promptText,
      created_at_epoch: Date.now(),
    };
    prompts.push(prompt);
    // The record's prompt stays the row's (the first ever): what a session re-created from the row starts from.
    if (record) record.promptCount = prompts.length;
    return prompt.id;
  }

  getUserPrompt(contentSessionId: string, promptNumber: number): string | null {
    const prompts = this.#prompts.get(contentSessionId);
    return prompts?.find((prompt) => prompt.prompt_number === promptNumber)?.prompt_text ?? null;
  }

  getLatestUserPrompt(contentSessionId: string): PromptRow | undefined {
    const prompts = this.#prompts.get(contentSessionId);
    return prompts?.[prompts.length - 1];
  }

  /** 13.x: the same prompt text saved for this session within the window (a hook fired twice). */
  findRecentDuplicateUserPrompt(contentSessionId: string, promptText: string, windowMs: number): PromptRow | undefined {
    const since = Date.now() - windowMs;
    const text = promptText.trim();
    const prompts = this.#prompts.get(contentSessionId) ?? [];
    for (let index = prompts.length - 1; index >= 0 && prompts[index]!.created_at_epoch >= since; index -= 1) {
      if (prompts[index]!.prompt_text.trim() === text) return prompts[index];
    }
    return undefined;
  }

  // --- 8.5.x PendingMessageStore (through stand-ins/pending-message-store-8.ts) --------------

  enqueue(sessionDbId: number, contentSessionId: string, message: { type: 'observation' | 'summarize'; tool_name?: string }): number {
    const pending = this.mirror(sessionDbId, message.type, message.tool_name);
    this.#contentIds.set(pending.id, contentSessionId);
    this.#createdAt.set(pending.id, Date.now());
    return pending.id;
  }

  /** Records in leaksim's store a message claude-mem's queue just accepted, with the text leaksim sent. */
  mirror(sessionDbId: number, kind: 'observation' | 'summarize', toolName: string | undefined): PendingMessage {
    const pending = this.store.enqueue(sessionDbId, kind, this.#pendingText ?? '', toolName);
    this.lastEnqueued = pending;
    return pending;
  }

  /** The text of the message being queued: set by the bridge around the route call (claude-mem's row holds the tool input and response instead). */
  #pendingText: string | undefined;
  lastEnqueued: PendingMessage | undefined;
  readonly #contentIds = new Map<number, string>();
  readonly #createdAt = new Map<number, number>();

  withText<T>(text: string, route: () => T): T {
    this.#pendingText = text;
    this.lastEnqueued = undefined;
    try {
      return route();
    } finally {
      this.#pendingText = undefined;
    }
  }

  claimAndDelete(sessionDbId: number): PendingRow | null {
    const message = this.store.claim(sessionDbId);
    if (!message) return null;
    const row: PendingRow = {
      id: message.id,
      session_db_id: sessionDbId,
      content_session_id: this.#contentIds.get(message.id) ?? '',
      message_type: message.kind,
      created_at_epoch: this.#createdAt.get(message.id) ?? Date.now(),
      leaksim: message,
    };
    this.#contentIds.delete(message.id);
    this.#createdAt.delete(message.id);
    return row;
  }

  toPendingMessage(row: PendingRow): { type: 'observation' | 'summarize'; tool_name?: string; leaksim: PendingMessage } {
    return { type: row.message_type, ...(row.leaksim.toolName ? { tool_name: row.leaksim.toolName } : {}), leaksim: row.leaksim };
  }

  /** Rows still 'pending' (claimed rows are already deleted at 8.5.x). */
  getPendingCount(sessionDbId: number): number {
    return this.store.queuedCount(sessionDbId);
  }

  hasAnyPendingWork(): boolean {
    const account = this.store.accounting();
    return account.queued > 0;
  }

  /** 8.5.x marks 'processing' rows failed; with claim-and-delete there are none. */
  markSessionMessagesFailed(): number {
    return 0;
  }

  /** Sessions with 'pending' rows, in id order (the worker's start-up recovery reads them). */
  getSessionsWithPendingMessages(): number[] {
    const sessions: number[] = [];
    for (let id = 1; id <= this.store.recordCount(); id += 1) if (this.store.queuedCount(id) > 0) sessions.push(id);
    return sessions;
  }

  resetStuckMessages(): number {
    return 0;
  }

  // --- 12.x – 13.3 PendingMessageStore: claimed rows stay 'processing' until confirmed ----------

  /** Whether the bridge is removing this session itself (set by the bridge): a queue cleared then is dropped by the delete. */
  explicitRemoval: ((sessionDbId: number) => boolean) | undefined;

  claimNextMessage(sessionDbId: number): PendingRow | null {
    return this.claimAndDelete(sessionDbId);
  }

  confirmProcessed(): number {
    return 1;
  }

  resetProcessingToPending(sessionDbId: number): number {
    return this.store.requeueInFlight(sessionDbId);
  }

  clearPendingForSession(sessionDbId: number): number {
    return this.store.dropSession(sessionDbId, this.explicitRemoval?.(sessionDbId) ?? false);
  }

  peekPendingTypes(sessionDbId: number): { message_type: string; tool_name: string | null }[] {
    return this.store.queuedCount(sessionDbId) > 0 ? [{ message_type: 'observation', tool_name: null }] : [];
  }

  getTotalQueueDepth(): number {
    return this.store.accounting().queued;
  }
}

const CHROMA = { syncUserPrompt: (): Promise<void> => Promise.resolve() };

const databases = new WeakMap<PendingStore, ClaudeMemDatabase>();
