import type { WorkflowRecord, WorkflowStatus } from '../../../domain/workflow.js';
import { bytewise, type SqlContext } from './dialect-sql.js';
import { workflowFromRow } from './rows.js';

/** The WorkflowStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts). */

export async function insertWorkflow({ db }: SqlContext, workflow: WorkflowRecord): Promise<void> {
  await db
    .insertInto('workflows')
    .values({
      id: workflow.id,
      name: workflow.name,
      source: workflow.source,
      definition_hash: workflow.definitionHash,
      status: workflow.status,
      created_at: workflow.createdAt,
      updated_at: workflow.updatedAt,
      completed_at: workflow.completedAt,
    })
    .execute();
}

/** A run back to `running` is not completed any more; any other status completes it at `at`. */
export async function updateWorkflowStatus({ db }: SqlContext, id: string, status: WorkflowStatus, at: number): Promise<void> {
  await db
    .updateTable('workflows')
    .set({ status, updated_at: at, completed_at: status === 'running' ? null : at })
    .where('id', '=', id)
    .execute();
}

export async function getWorkflow({ db }: SqlContext, id: string): Promise<WorkflowRecord | undefined> {
  const row = await db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? workflowFromRow(row) : undefined;
}

/** The newest run of a definition (ids are time-sorted), optionally in one status. */
export async function findWorkflow({ db, dialect }: SqlContext, query: { definitionHash: string; status?: WorkflowStatus }): Promise<WorkflowRecord | undefined> {
  let select = db.selectFrom('workflows').selectAll().where('definition_hash', '=', query.definitionHash);
  if (query.status !== undefined) select = select.where('status', '=', query.status);
  const row = await select.orderBy(bytewise(dialect, 'id'), 'desc').limit(1).executeTakeFirst();
  return row ? workflowFromRow(row) : undefined;
}

/** Newest first. */
export async function listWorkflows({ db, dialect }: SqlContext, query: { status?: WorkflowStatus; limit: number }): Promise<WorkflowRecord[]> {
  let select = db.selectFrom('workflows').selectAll();
  if (query.status !== undefined) select = select.where('status', '=', query.status);
  const rows = await select.orderBy(bytewise(dialect, 'id'), 'desc').limit(query.limit).execute();
  return rows.map(workflowFromRow);
}
