import { StringDecoder } from 'node:string_decoder';

/**
 * Collects one output stream of a child process up to a byte cap. Bytes past the cap are dropped as
 * they arrive (the pipe keeps being read so that the child never blocks on a full pipe, but nothing
 * beyond the cap is held in memory). Text is decoded with a StringDecoder so that a multi-byte UTF-8
 * character split across two chunks is decoded whole rather than as two replacement characters.
 */
export class OutputCollector {
  readonly #maxBytes: number;
  readonly #onText: ((text: string) => void) | undefined;
  readonly #decoder = new StringDecoder('utf8');
  readonly #parts: string[] = [];
  #bytes = 0;
  #truncated = false;

  constructor(maxBytes: number, onText?: (text: string) => void) {
    this.#maxBytes = maxBytes;
    this.#onText = onText;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const room = this.#maxBytes - this.#bytes;
    if (room <= 0) {
      this.#truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.#truncated = true;
    this.#bytes += kept.length;
    this.#emit(this.#decoder.write(kept));
  }

  /** The collected text. When the cap cut a character in half, its partial bytes are dropped, not shown as U+FFFD. */
  finish(): string {
    if (!this.#truncated) this.#emit(this.#decoder.end());
    return this.#parts.join('');
  }

  #emit(text: string): void {
    if (text.length === 0) return;
    this.#parts.push(text);
    this.#onText?.(text);
  }
}
