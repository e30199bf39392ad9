import { NotFoundError } from '../domain/errors.js';
import type { WorkflowRecord, WorkflowStatus } from '../domain/workflow.js';
import type { Store } from '../ports/store.js';

export interface WorkflowQuery {
  status?: WorkflowStatus;
  limit: number;
}

/**
 * The workflow runs of a colony (`colony.workflows`), by any process sharing the store: each a task
 * DAG submitted under one workflow id. Runs start with `runWorkflow` (src/workflow).
 */
export class WorkflowRuns {
  private readonly store: Store;

  constructor(options: { store: Store }) {
    this.store = options.store;
  }

  async get(id: string): Promise<WorkflowRecord> {
    const workflow = await this.store.workflows.get(id);
    if (!workflow) throw new NotFoundError('workflow', id);
    return workflow;
  }

  /** Newest first, at most `limit`. */
  list(query: WorkflowQuery): Promise<WorkflowRecord[]> {
    return this.store.workflows.list(query);
  }
}
