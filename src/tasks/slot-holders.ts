/**
 * The attempts that hold one of this process's slots, by task type: counted as they take and give
 * back their slot, so that a claim or a completion asks for the counts without going over every
 * attempt (a runner may have thousands running). A task holds its slot from its claim (or its
 * hand-off) until its executor is done; taking or giving back twice changes nothing.
 */
export class SlotHolders {
  private readonly typeOf = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  hold(taskId: string, type: string): void {
    if (this.typeOf.has(taskId)) return;
    this.typeOf.set(taskId, type);
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
  }

  release(taskId: string): void {
    const type = this.typeOf.get(taskId);
    if (type === undefined) return;
    this.typeOf.delete(taskId);
    const left = (this.counts.get(type) ?? 1) - 1;
    if (left > 0) this.counts.set(type, left);
    else this.counts.delete(type);
  }

  /** Slots held, of every type. */
  get total(): number {
    return this.typeOf.size;
  }

  /** Slots held per type (a type holding none is absent). */
  get byType(): ReadonlyMap<string, number> {
    return this.counts;
  }
}
