/**
 * Message content of a given length, cheaply. Texts are slices of one fixed 1 MiB pool: V8 keeps a
 * long slice as a view onto its parent, so a month of traffic costs a pointer per message rather
 * than a copy, and sizes (what the invariants and metrics read) are exact. A heap check that wants
 * every message to own its bytes asks for `flat` content, which copies.
 */
const POOL_CHARS = 1 << 20;
let pool: string | undefined;

function sharedPool(): string {
  pool ??= 'observation of a tool use in a claude code session; '.repeat(Math.ceil(POOL_CHARS / 52)).slice(0, POOL_CHARS);
  return pool;
}

export class ContentSource {
  readonly #flat: boolean;
  #offset = 0;

  constructor(options: { flat?: boolean } = {}) {
    this.#flat = options.flat ?? false;
  }

  /** A text of exactly `chars` characters. Deterministic: the nth call of a run always gives the same text. */
  text(chars: number): string {
    const source = sharedPool();
    let text: string;
    if (chars <= POOL_CHARS) {
      const start = this.#offset % (POOL_CHARS - chars + 1);
      this.#offset += 4_099; // a prime stride, so neighbouring messages differ
      text = source.slice(start, start + chars);
    } else {
      text = source.repeat(Math.ceil(chars / POOL_CHARS)).slice(0, chars);
    }
    // Buffer round trip: the only cheap way to make V8 allocate the characters anew.
    return this.#flat ? Buffer.from(text, 'latin1').toString('latin1') : text;
  }
}
