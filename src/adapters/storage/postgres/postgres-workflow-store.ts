import type { Kysely } from 'kysely';
import type { WorkflowRecord, WorkflowStatus } from '../../../domain/workflow.js';
import type { WorkflowStore } from '../../../ports/workflow-store.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import type { ColonyTables } from '../sql/schema.js';
import * as q from '../sql/workflow-queries.js';
import { mapped } from './postgres-errors.js';

/** Workflow runs on PostgreSQL: one statement per call. */
export class PostgresWorkflowStore implements WorkflowStore {
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.sql = { db, dialect: 'postgres' };
  }

  insert(workflow: WorkflowRecord): Promise<void> {
    return mapped(`insert workflow ${workflow.id}`, () => q.insertWorkflow(this.sql, workflow));
  }

  updateStatus(id: string, status: WorkflowStatus, at: number): Promise<void> {
    return mapped(`update workflow ${id}`, () => q.updateWorkflowStatus(this.sql, id, status, at));
  }

  get(id: string): Promise<WorkflowRecord | undefined> {
    return mapped(`read workflow ${id}`, () => q.getWorkflow(this.sql, id));
  }

  find(query: { definitionHash: string; status?: WorkflowStatus }): Promise<WorkflowRecord | undefined> {
    return mapped('find workflow', () => q.findWorkflow(this.sql, query));
  }

  list(query: { status?: WorkflowStatus; limit: number }): Promise<WorkflowRecord[]> {
    return mapped('list workflows', () => q.listWorkflows(this.sql, query));
  }
}
