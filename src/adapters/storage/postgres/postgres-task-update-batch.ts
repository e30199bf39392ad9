import { sql, type Kysely } from 'kysely';
import type { TaskRecord } from '../../../domain/task.js';
import type { NewEvent } from '../../../ports/event-log.js';
import type { TaskExpectation } from '../../../ports/task-store.js';
import { appendEventsIn } from './postgres-event-log.js';
import { taskToRow } from '../sql/rows.js';
import type { ColonyTables } from '../sql/schema.js';

interface PendingUpdate {
  next: TaskRecord;
  expected: TaskExpectation & { updatedAt?: number };
  /** Appended to the event log in the statement's transaction if the update applies. */
  events: readonly NewEvent[] | undefined;
  resolve: (changed: boolean) => void;
  reject: (error: unknown) => void;
}

/** Updates written in one statement at most: a backlog goes in bounded statements. */
const MAX_BATCH = 500;

/**
 * Compare-and-set updates of tasks gathered over one turn of the event loop and written in one
 * statement (`UPDATE ... FROM unnest(...)`), so that a worker finishing fifty tasks at once commits
 * once, not fifty times: on PostgreSQL the commit, not the row, is what a task's completion costs.
 * Each update keeps its own condition and its own answer (whether it matched), exactly as one UPDATE
 * per task would. Two updates of one task in a turn go in successive statements, in order.
 */
export class PostgresTaskUpdateBatch {
  private readonly db: Kysely<ColonyTables>;
  private queue: PendingUpdate[] = [];
  private scheduled = false;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
  }

  update(next: TaskRecord, expected: TaskExpectation & { updatedAt?: number }, events?: readonly NewEvent[]): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ next, expected, events, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      // One update per task per statement; a later update of the same task waits for the next one.
      const batch: PendingUpdate[] = [];
      const rest: PendingUpdate[] = [];
      const ids = new Set<string>();
      for (const item of this.queue) {
        if (batch.length < MAX_BATCH && !ids.has(item.next.id)) {
          ids.add(item.next.id);
          batch.push(item);
        } else rest.push(item);
      }
      this.queue = rest;
      try {
        const changed = await this.write(batch);
        for (const item of batch) item.resolve(changed.has(item.next.id));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }

  private async write(batch: readonly PendingUpdate[]): Promise<Set<string>> {
    if (!batch.some((item) => item.events && item.events.length > 0)) return this.updateRows(this.db, batch);
    // With the events that report the updates that apply, in one transaction: rows first, then the
    // event log's append lock (see appendEventsIn).
    return this.db.transaction().execute(async (trx) => {
      const changed = await this.updateRows(trx, batch);
      await appendEventsIn(trx, batch.flatMap((item) => (changed.has(item.next.id) ? (item.events ?? []) : [])));
      return changed;
    });
  }

  private async updateRows(db: Kysely<ColonyTables>, batch: readonly PendingUpdate[]): Promise<Set<string>> {
    const rows = batch.map((item) => taskToRow(item.next));
    const column = <T>(pick: (row: (typeof rows)[number], i: number) => T): T[] => rows.map(pick);
    const { rows: matched } = await sql<{ id: string }>`
      update tasks t set
        status = v.status, priority = v.priority, assigned_agent = v.assigned_agent, max_attempts = v.max_attempts,
        attempts = v.attempts, result = v.result::jsonb, error = v.error::jsonb, runner_id = v.runner_id,
        not_before = v.not_before, updated_at = v.updated_at, started_at = v.started_at, completed_at = v.completed_at
      from unnest(
        ${column((r) => r.id)}::text[], ${column((r) => r.status)}::text[], ${column((r) => r.priority)}::integer[],
        ${column((r) => r.assigned_agent)}::text[], ${column((r) => r.max_attempts)}::integer[], ${column((r) => r.attempts)}::integer[],
        ${column((r) => r.result)}::text[], ${column((r) => r.error)}::text[], ${column((r) => r.runner_id)}::text[],
        ${column((r) => r.not_before)}::bigint[], ${column((r) => r.updated_at)}::bigint[], ${column((r) => r.started_at)}::bigint[],
        ${column((r) => r.completed_at)}::bigint[],
        ${batch.map((b) => b.expected.status)}::text[], ${batch.map((b) => b.expected.attempts)}::integer[],
        ${batch.map((b) => b.expected.updatedAt ?? null)}::bigint[]
      ) as v(id, status, priority, assigned_agent, max_attempts, attempts, result, error, runner_id, not_before, updated_at,
             started_at, completed_at, expected_status, expected_attempts, expected_updated_at)
      where t.id = v.id and t.status = v.expected_status and t.attempts = v.expected_attempts
        and (v.expected_updated_at is null or t.updated_at = v.expected_updated_at)
      returning t.id`.execute(db);
    return new Set(matched.map((r) => r.id));
  }
}
