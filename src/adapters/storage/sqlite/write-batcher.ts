import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StorageError } from '../../../domain/errors.js';
import { mapSqliteError } from './sqlite-errors.js';

/**
 * Pages the write-ahead log may hold before a commit copies them back into the database file (SQLite's
 * default is 1,000: 4 MB). The batcher sets it because that copy happens inside its commits, and ends
 * in an fsync on the event loop: with the default, one group commit in twenty of a busy run stalled for
 * milliseconds, mostly copying the same hot pages (the task table, its indexes) written again since the
 * last copy. Ten times the pages: a tenth of the stalls, each hot page copied once for many more
 * commits. The log stays within about 40 MB.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;

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
  /** Prepared once: a flush runs these on every turn of a busy event loop. */
  private readonly begin: StatementSync;
  private readonly commit: StatementSync;
  /** One name for every savepoint: SQLite's savepoints are a stack, RELEASE and ROLLBACK TO take the innermost of a name. */
  private readonly savepoint: StatementSync;
  private readonly release: StatementSync;
  private readonly rollbackTo: StatementSync;
  private queue: PendingWrite[] = [];
  private scheduled = false;

  constructor(db: DatabaseSync) {
    this.db = db;
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.savepoint = db.prepare('SAVEPOINT colony_atomic');
    this.release = db.prepare('RELEASE colony_atomic');
    this.rollbackTo = db.prepare('ROLLBACK TO colony_atomic');
    db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
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
    // Prepared once (a completion takes one of these per task): parsing a fresh name each time cost more than the savepoint.
    this.savepoint.run();
    try {
      const result = fn();
      this.release.run();
      return result;
    } catch (error) {
      this.rollbackTo.run();
      this.release.run();
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
      this.begin.run();
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
      this.commit.run();
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
