import type { WorkflowRecord, WorkflowStatus } from '../domain/workflow.js';

/**
 * The WorkflowStore port: workflow runs (a workflow's tasks live in the task store under its id).
 * Conformance: `test/conformance/workflow-store.ts`.
 */
export interface WorkflowStore {
  insert(workflow: WorkflowRecord): Promise<void>;
  updateStatus(id: string, status: WorkflowStatus, at: number): Promise<void>;
  get(id: string): Promise<WorkflowRecord | undefined>;
  /** A run of the same definition (by hash), for resuming it. */
  find(query: { definitionHash: string; status?: WorkflowStatus }): Promise<WorkflowRecord | undefined>;
  list(query: { status?: WorkflowStatus; limit: number }): Promise<WorkflowRecord[]>;
}
