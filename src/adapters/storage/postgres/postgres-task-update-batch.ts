import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { TaskRecord } from '../../../domain/task.js';
import type { NewEvent } from '../../../ports/event-log.js';
import type { TaskExpectation } from '../../../ports/task-store.js';
import { EVENT_APPEND_LOCK_NAMESPACE, schemaLock } from './postgres-store-locks.js';
import { schemaChannelSql } from './schema-channels.js';
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
  /** A flush is scheduled or writing: updates that come meanwhile wait for its next statement. */
  private flushing = false;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
  }

  update(next: TaskRecord, expected: TaskExpectation & { updatedAt?: number }, events?: readonly NewEvent[]): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ next, expected, events, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /**
   * One statement in flight at a time: what completes while it is written goes in the next one, so
   * that under load the statements grow instead of multiplying and queueing for the event log's lock.
   */
  private async flush(): Promise<void> {
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
      // In id order: two processes writing overlapping tasks (promoting one fan-out) lock them in the
      // same order, so they wait for each other rather than deadlock.
      batch.sort((a, b) => (a.next.id < b.next.id ? -1 : a.next.id > b.next.id ? 1 : 0));
      try {
        const changed = await this.write(batch);
        for (const item of batch) item.resolve(changed.has(item.next.id));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.flushing = false;
  }

  private async write(batch: readonly PendingUpdate[]): Promise<Set<string>> {
    const updated = casUpdateSql(batch);
    if (!batch.some((item) => item.events && item.events.length > 0)) {
      const { rows } = await updated.execute(this.db);
      return new Set(rows.map((r) => r.id));
    }
    // With the events that report the updates that apply, in one statement that is its own transaction:
    // the rows are updated (and locked) first, then the event log's append lock is taken (`changed`
    // aggregates every updated row before `append_lock` can yield), then the events of the rows that
    // changed take their ids. The lock is held from there to the commit with no round trip to this
    // process in between.
    const events = batch.flatMap((item) => (item.events ?? []).map((event) => ({ event, taskId: item.next.id })));
    const { rows } = await sql<{ changed: string[] }>`
      with updated as (${updated}),
      changed as (select coalesce(array_agg(id), '{}'::text[]) as ids from updated),
      append_lock as (select ${schemaLock(EVENT_APPEND_LOCK_NAMESPACE)} from changed where cardinality(changed.ids) > 0),
      appended as (
        insert into events (type, source, data, correlation_id, timestamp)
        select e.type, e.source, e.data::jsonb, e.correlation_id, e.ts
        from unnest(${events.map((e) => e.event.type)}::text[], ${events.map((e) => e.event.source)}::text[],
                    ${events.map((e) => JSON.stringify(e.event.data))}::text[], ${events.map((e) => e.event.correlationId)}::text[],
                    ${events.map((e) => e.event.timestamp)}::bigint[], ${events.map((e) => e.taskId)}::text[])
          with ordinality as e(type, source, data, correlation_id, ts, task_id, ord)
          cross join append_lock cross join changed
        where e.task_id = any(changed.ids)
        order by e.ord
        returning id)
      select (select ids from changed) as changed,
        (select pg_notify(${schemaChannelSql('events')}, max(id)::text) from appended having count(*) > 0) as notified`.execute(this.db);
    return new Set(rows[0]?.changed ?? []);
  }
}

/**
 * One compare-and-set UPDATE for many tasks (at most one change per task): each row changes only if
 * its status, attempts (and updated_at, when given) are still the expected ones; returns the ids of
 * the rows that changed.
 */
export function casUpdateSql(batch: readonly { next: TaskRecord; expected: TaskExpectation & { updatedAt?: number } }[]): RawBuilder<{ id: string }> {
  const rows = batch.map((item) => taskToRow(item.next));
  const column = <T>(pick: (row: (typeof rows)[number], i: number) => T): T[] => rows.map(pick);
  return sql<{ id: string }>`
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
    returning t.id`;
}
