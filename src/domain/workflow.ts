export const WORKFLOW_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

export interface WorkflowRecord {
  id: string;
  name: string;
  /** Where the definition came from (a file path), if anywhere. */
  source: string | null;
  /** A hash of the definition, so that running the same file again resumes the unfinished run. */
  definitionHash: string;
  status: WorkflowStatus;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}
