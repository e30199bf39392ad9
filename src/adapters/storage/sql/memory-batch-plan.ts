import type { JsonValue } from '../../../domain/json.js';
import type { CheckedWrite } from '../../../memory/memory-store-input.js';
import type { MemoryEntry, MemoryWrite } from '../../../ports/memory-store.js';
import { hashValueJson } from '../sqlite/memory-value-codec.js';

/**
 * What a batch of memory writes (`putMany`, `restoreMany`) does, worked out before any statement
 * runs, so that both adapters apply it the same way with one statement per address (or one per
 * batch) instead of the single write's four per entry.
 *
 * Each write is applied, in order, to the state its address is in at that point, exactly as the
 * single write path applies it to the stored row: versions, created/accessed times and access
 * counts, expiry, a restore's skip. So an address written twice in one batch gets two versions
 * (the results say which), and only its last state is stored. The plan also gathers what the
 * adapters batch: each value's reference count change, summed per content hash over the batch.
 */

/** What a write path needs of a stored entry. */
export interface StoredState {
  version: number;
  valueRef: string;
  /** The tags as stored: the JSON text of the array. */
  tagsJson: string;
  expiresAt: number | null;
  createdAt: number;
  accessedAt: number;
  accessCount: number;
}

export interface BatchWrite {
  write: MemoryWrite;
  checked: CheckedWrite;
  /** Content hash of `checked.json`. */
  hash: string;
  /** Set for a restore: the exported entry whose version and history are kept. */
  restoring?: { entry: MemoryEntry; mode: 'skip' | 'overwrite'; now: number };
}

/** One address's outcome: what was stored before the batch, what to store now. */
export interface AddressPlan {
  namespace: string;
  key: string;
  before: StoredState | undefined;
  /** The last write that applied, with the row it leaves; undefined when every write was skipped. */
  after: { write: BatchWrite; tagsJson: string; version: number; createdAt: number; accessedAt: number; accessCount: number } | undefined;
  /**
   * Whether the stored row's embeddings stay (moved to the new version): only when every write kept
   * the value of a live entry, as a single write keeps them. Meaningless without `before`.
   */
  keepEmbeddings: boolean;
}

export interface BatchPlan {
  /** Per write, in input order: the entry as written, or null for a skipped restore. */
  results: (MemoryEntry | null)[];
  /** Addresses in order of first appearance. */
  addresses: AddressPlan[];
  /** Reference count change per content hash (zeros left out). */
  blobDeltas: Map<string, number>;
  /** A write holding each hash, for storing a value not stored yet. */
  valueOf: Map<string, BatchWrite>;
}

/** What a batch restores: the exported entries (one per write, in order), how, and when. */
export interface BatchRestore {
  entries: readonly MemoryEntry[];
  mode: 'skip' | 'overwrite';
  now: number;
}

/** The batch's writes with their checked values, content hashes and, for a restore, the entries they restore. */
export function batchWritesOf(entries: readonly MemoryWrite[], checked: readonly CheckedWrite[], restoring: BatchRestore | undefined): BatchWrite[] {
  return entries.map((write, i) => {
    const c = checked[i] as CheckedWrite;
    const w: BatchWrite = { write, checked: c, hash: hashValueJson(c.json) };
    if (restoring) w.restoring = { entry: restoring.entries[i] as MemoryEntry, mode: restoring.mode, now: restoring.now };
    return w;
  });
}

export function addressId(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

/** The distinct addresses of a batch, in order of first appearance. */
export function batchAddresses(writes: readonly BatchWrite[]): { namespace: string; key: string }[] {
  const seen = new Map<string, { namespace: string; key: string }>();
  for (const { write } of writes) {
    const id = addressId(write.namespace, write.key);
    if (!seen.has(id)) seen.set(id, { namespace: write.namespace, key: write.key });
  }
  return [...seen.values()];
}

/** Plans a batch over the stored states (by `addressId`; absent: no row). */
export function planMemoryBatch(writes: readonly BatchWrite[], stored: ReadonlyMap<string, StoredState>): BatchPlan {
  const byAddress = new Map<string, AddressPlan & { state: StoredState | undefined }>();
  const results: (MemoryEntry | null)[] = [];
  const valueOf = new Map<string, BatchWrite>();
  for (const w of writes) {
    const { namespace, key, at } = w.write;
    const id = addressId(namespace, key);
    let plan = byAddress.get(id);
    if (plan === undefined) {
      const before = stored.get(id);
      plan = { namespace, key, before, after: undefined, keepEmbeddings: true, state: before };
      byAddress.set(id, plan);
    }
    const current = plan.state;
    const restoring = w.restoring;
    const live = current !== undefined && isLive(current.expiresAt, restoring?.now ?? at);
    if (restoring && live && restoring.mode === 'skip') {
      results.push(null);
      continue;
    }
    const sameValue = current !== undefined && current.valueRef === w.hash;
    // A single write keeps the row's embeddings only over a live entry with the same value.
    if (!(live && sameValue)) plan.keepEmbeddings = false;
    const r = restoring?.entry;
    const version = r ? (live ? Math.max(r.version, current.version + 1) : r.version) : live ? current.version + 1 : 1;
    const createdAt = r ? r.createdAt : live ? current.createdAt : at;
    const accessedAt = r ? r.accessedAt : live ? current.accessedAt : at;
    const accessCount = r ? r.accessCount : live ? current.accessCount : 0;
    const tagsJson = JSON.stringify(w.checked.tags);
    plan.after = { write: w, tagsJson, version, createdAt, accessedAt, accessCount };
    plan.state = { version, valueRef: w.hash, tagsJson, expiresAt: w.write.expiresAt, createdAt, accessedAt, accessCount };
    if (!valueOf.has(w.hash)) valueOf.set(w.hash, w);
    results.push({
      namespace,
      key,
      value: JSON.parse(w.checked.json) as JsonValue,
      version,
      tags: [...w.checked.tags],
      metadata: JSON.parse(w.checked.metadataJson) as Record<string, JsonValue>,
      expiresAt: w.write.expiresAt,
      createdAt,
      updatedAt: at,
      accessedAt,
      accessCount,
      size: w.checked.size,
    });
  }

  const blobDeltas = new Map<string, number>();
  const add = (hash: string, delta: number) => blobDeltas.set(hash, (blobDeltas.get(hash) ?? 0) + delta);
  const addresses: AddressPlan[] = [];
  for (const { state: _state, ...plan } of byAddress.values()) {
    addresses.push(plan);
    if (plan.after === undefined) continue;
    const now = plan.after.write.hash;
    if (plan.before === undefined) add(now, 1);
    else if (plan.before.valueRef !== now) {
      add(now, 1);
      add(plan.before.valueRef, -1);
    }
  }
  for (const [hash, delta] of blobDeltas) if (delta === 0) blobDeltas.delete(hash);
  return { results, addresses, blobDeltas, valueOf };
}

function isLive(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || expiresAt > now;
}
