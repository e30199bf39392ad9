import type { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../../../domain/errors.js';
import { mapSqliteError } from './sqlite-errors.js';

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes issued in the same turn of the event loop are applied in one transaction, and
 * each caller's promise settles only after that transaction commits. One commit per batch instead of
 * one per statement is what lets the task engine persist tens of thousands of state changes a second.
 *
 * A failing write does not fail its neighbours: SQLite undoes just the failing statement, and writes
 * that need all-or-nothing across several statements wrap themselves in a savepoint (`atomically`).
 */
export class WriteBatcher {
  private readonly db: DatabaseSync;
  private queue: PendingWrite[] = [];
  private scheduled = false;
  private savepoints = 0;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Like `enqueue`, with SQLite's errors mapped to Colony's taxonomy and labelled with `what`. */
  write<T>(what: string, run: () => T): Promise<T> {
    return this.enqueue(() => {
      try {
        return run();
      } catch (error) {
        throw mapSqliteError(error, what);
      }
    });
  }

  /** Runs `fn` inside a savepoint so that its statements take effect together or not at all. */
  atomically<T>(fn: () => T): T {
    const name = `sp_${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const result = fn();
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      throw error;
    }
  }

  /** Applies everything queued now; returns when committed. Safe to call at any time. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      const failure = new StorageError(`database is busy: ${(error as Error).message}`, { cause: error, retryable: true });
      for (const write of batch) write.reject(failure);
      return;
    }
    for (const write of batch) {
      try {
        outcomes.push({ ok: true, value: write.run() });
      } catch (error) {
        outcomes.push({ ok: false, value: error });
      }
    }
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // The transaction is already gone; nothing more to undo.
      }
      const failure = new StorageError(`commit failed: ${(error as Error).message}`, { cause: error, retryable: true });
      for (const write of batch) write.reject(failure);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i] as { ok: boolean; value: unknown };
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.value);
    });
  }

  get pending(): number {
    return this.queue.length;
  }
}
