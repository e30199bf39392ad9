/**
 * Gathers streamed text deltas and hands them on in pieces: at most one piece per interval, or
 * at once when enough bytes are waiting, so live output does not flood the event bus with one
 * event per token.
 */
export class OutputCoalescer {
  readonly #emit: (text: string) => void;
  readonly #intervalMs: number;
  readonly #maxBytes: number;
  #buffer = '';
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(emit: (text: string) => void, options: { intervalMs: number; maxBytes: number }) {
    this.#emit = emit;
    this.#intervalMs = options.intervalMs;
    this.#maxBytes = options.maxBytes;
  }

  push(text: string): void {
    if (text === '') return;
    this.#buffer += text;
    this.#bytes += Buffer.byteLength(text);
    if (this.#bytes >= this.#maxBytes) {
      this.flush();
      return;
    }
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Hands on whatever is waiting now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer === '') return;
    const text = this.#buffer;
    this.#buffer = '';
    this.#bytes = 0;
    this.#emit(text);
  }
}
