import type { ChangeTopic } from '../../ports/change-notifier.js';

export interface NotifyCoalescerOptions {
  /** At most one send this often: the first notification goes out at once, those after it within the interval together at its end. */
  intervalMs: number;
  /** Sends the topics; false (or a rejection) when the backend cannot take them now: they are kept for `resume`. */
  send: (topics: readonly ChangeTopic[]) => Promise<boolean>;
  now?: () => number;
}

/**
 * The outgoing side of a ChangeNotifier: notifications wait here and go out in batches, at most one
 * send per interval, so that a burst of ready tasks costs one NOTIFY (or PUBLISH), not one per task.
 * While the backend is unreachable they are kept (one per topic) and sent on `resume`.
 */
export class NotifyCoalescer {
  private readonly o: NotifyCoalescerOptions;
  private readonly now: () => number;
  private readonly pending = new Set<ChangeTopic>();
  private sending: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  /** The last send failed: wait for `resume` rather than retry in a loop. */
  private blocked = false;

  constructor(options: NotifyCoalescerOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  add(topic: ChangeTopic): void {
    this.pending.add(topic);
    this.schedule();
  }

  /** The backend can take notifications again (connected): what waits goes out. */
  resume(): void {
    this.blocked = false;
    this.schedule();
  }

  /** Sends what waits now, whatever the interval (closing). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.blocked = false;
    if (this.pending.size > 0) await this.sendNow();
  }

  /** Drops what waits and stops the timer. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  private schedule(): void {
    if (this.sending || this.timer || this.blocked || this.pending.size === 0) return;
    const wait = this.lastSentAt + this.o.intervalMs - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, wait);
      this.timer.unref();
      return;
    }
    this.sending = this.sendNow().finally(() => {
      this.sending = null;
      this.schedule();
    });
  }

  private async sendNow(): Promise<void> {
    const topics = [...this.pending];
    this.pending.clear();
    this.lastSentAt = this.now();
    const sent = await this.o.send(topics).catch(() => false);
    if (sent) return;
    for (const topic of topics) this.pending.add(topic);
    this.blocked = true;
  }
}
