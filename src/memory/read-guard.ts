/** One read in flight: `stale` turns true when the key is written (here or elsewhere) meanwhile. */
export interface ReadTicket {
  stale: boolean;
}

interface Slot {
  ticket: ReadTicket;
  readers: number;
}

/**
 * Keeps a read from caching what it read when a write to the same key happened while it was in
 * flight: the read started before the write, so its value may be the old one, and putting it into
 * L1 or L2 would hide the write. Readers of one key that overlap share a ticket; a write marks it
 * stale and detaches it, so reads that begin after the write get a fresh one.
 */
export class ReadGuard {
  private readonly inFlight = new Map<string, Slot>();

  begin(cacheKey: string): ReadTicket {
    let slot = this.inFlight.get(cacheKey);
    if (!slot) {
      slot = { ticket: { stale: false }, readers: 0 };
      this.inFlight.set(cacheKey, slot);
    }
    slot.readers++;
    return slot.ticket;
  }

  end(cacheKey: string, ticket: ReadTicket): void {
    const slot = this.inFlight.get(cacheKey);
    if (!slot || slot.ticket !== ticket) return;
    slot.readers--;
    if (slot.readers === 0) this.inFlight.delete(cacheKey);
  }

  invalidate(cacheKey: string): void {
    const slot = this.inFlight.get(cacheKey);
    if (!slot) return;
    slot.ticket.stale = true;
    this.inFlight.delete(cacheKey);
  }

  get size(): number {
    return this.inFlight.size;
  }
}
