import type { WorkflowRecord, WorkflowStatus } from '../../../domain/workflow.js';
import { workflowFromRow } from '../sql/rows.js';
import type { WorkflowRow } from '../sql/schema.js';
import type { WorkflowStore } from '../../../ports/workflow-store.js';
import { SqliteAggregate } from './sqlite-aggregate.js';

/** Workflow runs. See `SqliteStore`. */
export class SqliteWorkflowStore extends SqliteAggregate implements WorkflowStore {
  insert(workflow: WorkflowRecord): Promise<void> {
    return this.write('insert workflow', () => {
      this.stmt(
        `INSERT INTO workflows (id, name, source, definition_hash, status, created_at, updated_at, completed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        workflow.id,
        workflow.name,
        workflow.source,
        workflow.definitionHash,
        workflow.status,
        workflow.createdAt,
        workflow.updatedAt,
        workflow.completedAt,
      );
    });
  }

  updateStatus(id: string, status: WorkflowStatus, at: number): Promise<void> {
    const completedAt = status === 'running' ? null : at;
    return this.write(`update workflow ${id}`, () => {
      this.stmt('UPDATE workflows SET status = ?, updated_at = ?, completed_at = ? WHERE id = ?').run(status, at, completedAt, id);
    });
  }

  async get(id: string): Promise<WorkflowRecord | undefined> {
    const row = this.stmt('SELECT * FROM workflows WHERE id = ?').get(id) as WorkflowRow | undefined;
    return row ? workflowFromRow(row) : undefined;
  }

  async find(query: { definitionHash: string; status?: WorkflowStatus }): Promise<WorkflowRecord | undefined> {
    const rows = query.status
      ? this.all('SELECT * FROM workflows WHERE definition_hash = ? AND status = ? ORDER BY id DESC LIMIT 1', query.definitionHash, query.status)
      : this.all('SELECT * FROM workflows WHERE definition_hash = ? ORDER BY id DESC LIMIT 1', query.definitionHash);
    const row = rows[0] as WorkflowRow | undefined;
    return row ? workflowFromRow(row) : undefined;
  }

  async list(query: { status?: WorkflowStatus; limit: number }): Promise<WorkflowRecord[]> {
    const rows = query.status
      ? this.all('SELECT * FROM workflows WHERE status = ? ORDER BY id DESC LIMIT ?', query.status, query.limit)
      : this.all('SELECT * FROM workflows ORDER BY id DESC LIMIT ?', query.limit);
    return (rows as unknown as WorkflowRow[]).map(workflowFromRow);
  }
}
