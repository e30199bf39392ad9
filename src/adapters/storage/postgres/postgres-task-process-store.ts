import type { Kysely } from 'kysely';
import type { TaskProcessKey, TaskProcessRecord, TaskProcessStore } from '../../../ports/task-process-store.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import type { ColonyTables } from '../sql/schema.js';
import { addTaskProcess, removeTaskProcess, taskProcessesHeldBy } from '../sql/task-process-queries.js';
import { mapped } from './postgres-errors.js';

/** Task process groups on PostgreSQL: one statement per call, each atomic on its own. */
export class PostgresTaskProcessStore implements TaskProcessStore {
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.sql = { db, dialect: 'postgres' };
  }

  add(record: TaskProcessRecord): Promise<void> {
    return mapped(`record process group ${record.pgid}`, () => addTaskProcess(this.sql, record));
  }

  remove(key: TaskProcessKey): Promise<void> {
    return mapped(`forget process group ${key.pgid}`, () => removeTaskProcess(this.sql, key));
  }

  listHeldBy(runnerIds: readonly string[]): Promise<TaskProcessRecord[]> {
    return mapped('list process groups', () => taskProcessesHeldBy(this.sql, runnerIds));
  }
}
