/**
 * A run's fingerprint: everything the driver did and saw, folded into 64 bits as it happens.
 * Two runs with the same hash dispatched the same events at the same times with the same
 * outcomes, removals and violations. It is a cheap integer mix (two 32-bit lanes, Math.imul),
 * not a cryptographic hash: at millions of events a run, hashing strings through node:crypto
 * would cost more than the simulation. Nothing in it depends on wall time.
 */
export class TraceHash {
  #a = 0x811c9dc5;
  #b = 0x01000193;

  /** Folds in a 32-bit integer. */
  mix(value: number): void {
    let a = Math.imul(this.#a ^ value, 0x9e3779b1);
    a ^= a >>> 15;
    this.#a = a;
    this.#b = Math.imul(this.#b + value + (a >>> 7), 0x85ebca77) ^ (this.#b >>> 13);
  }

  /** Folds in a non-negative integer up to 2^53 (a time in ms). */
  mixTime(ms: number): void {
    const whole = Math.floor(ms);
    this.mix(whole % 0x1_0000_0000);
    this.mix(Math.floor(whole / 0x1_0000_0000));
  }

  mixString(text: string): void {
    let h = 0x811c9dc5;
    for (let index = 0; index < text.length; index += 1) h = Math.imul(h ^ text.charCodeAt(index), 0x01000193);
    this.mix(h);
    this.mix(text.length);
  }

  hex(): string {
    return (this.#a >>> 0).toString(16).padStart(8, '0') + (this.#b >>> 0).toString(16).padStart(8, '0');
  }
}
