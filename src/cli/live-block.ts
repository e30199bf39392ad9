import { color } from './output.js';

/**
 * A block of lines redrawn in place on a terminal, with permanent lines logged above it. Off a
 * terminal (CI logs, pipes) nothing is redrawn: logged lines are simply written.
 */
export class LiveBlock {
  readonly tty: boolean;
  private readonly out: NodeJS.WriteStream;
  private drawn = 0;
  private lines: string[] = [];
  private stopped = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.out = out;
    this.tty = out.isTTY === true;
  }

  /** Replaces the block with these lines; `final` leaves them on screen for good. */
  draw(lines: string[], final = false): void {
    if (!this.tty || this.stopped) return;
    this.clear();
    this.out.write(`${lines.join('\n')}\n`);
    this.lines = final ? [] : lines;
    this.drawn = final ? 0 : lines.length;
  }

  /** A permanent line: above the live block on a terminal, plain otherwise. */
  log(line: string): void {
    if (!this.tty || this.stopped) {
      this.out.write(`${line}\n`);
      return;
    }
    this.clear();
    this.out.write(`${line}\n`);
    if (this.lines.length > 0) {
      this.out.write(`${this.lines.join('\n')}\n`);
      this.drawn = this.lines.length;
    }
  }

  /** Removes the block; later lines are written plainly. */
  stop(): void {
    if (this.tty) this.clear();
    this.stopped = true;
  }

  private clear(): void {
    // \r first: a ^C echoed by the terminal leaves the cursor mid-line.
    if (this.drawn > 0) this.out.write(`\r\u001b[${this.drawn}A\u001b[0J`);
    this.drawn = 0;
  }
}

/** A progress bar of `width` cells for a fraction in 0..1. */
export function progressBar(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return color.green('█'.repeat(filled)) + color.dim('░'.repeat(width - filled));
}
