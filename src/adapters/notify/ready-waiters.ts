/**
 * Callers of a notifier's `ready(timeoutMs)` waiting for its connection: each is released when the
 * connection comes up (`release`) or its own timeout passes, whichever is first.
 */
export class ReadyWaiters {
  private readonly waiters = new Set<() => void>();

  /** Resolves when released, or after `timeoutMs`. */
  async wait(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      waiter = resolve;
      this.waiters.add(resolve);
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    clearTimeout(timer);
    if (waiter) this.waiters.delete(waiter);
  }

  release(): void {
    for (const resolve of this.waiters) resolve();
    this.waiters.clear();
  }
}
