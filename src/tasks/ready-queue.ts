interface Entry {
  id: string;
  priority: number;
  seq: number;
}

/**
 * Ready tasks ordered by priority (highest first), then by arrival (FIFO within a priority).
 * A binary heap: O(log n) push and pop, so ten thousand ready tasks cost nothing to schedule.
 */
export class ReadyQueue {
  private readonly heap: Entry[] = [];
  private readonly members = new Set<string>();
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  push(id: string, priority: number): void {
    if (this.members.has(id)) return;
    this.members.add(id);
    this.heap.push({ id, priority, seq: this.seq++ });
    this.up(this.heap.length - 1);
  }

  /** Moves a queued id to its new priority (an operator changed it); no-op if it is not queued. */
  reprioritize(id: string, priority: number): void {
    if (!this.members.has(id)) return;
    const i = this.heap.findIndex((e) => e.id === id);
    const entry = this.heap[i] as Entry;
    entry.priority = priority;
    this.up(i);
    this.down(this.heap.indexOf(entry));
  }

  pop(): string | undefined {
    const top = this.heap[0];
    if (!top) return undefined;
    const last = this.heap.pop() as Entry;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    this.members.delete(top.id);
    return top.id;
  }

  private before(a: Entry, b: Entry): boolean {
    return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i] as Entry, h[parent] as Entry)) break;
      [h[i], h[parent]] = [h[parent] as Entry, h[i] as Entry];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < h.length && this.before(h[l] as Entry, h[best] as Entry)) best = l;
      if (r < h.length && this.before(h[r] as Entry, h[best] as Entry)) best = r;
      if (best === i) return;
      [h[i], h[best]] = [h[best] as Entry, h[i] as Entry];
      i = best;
    }
  }
}
