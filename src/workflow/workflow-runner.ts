import type { Colony } from '../app/colony.js';
import type { TaskStatus } from '../domain/task.js';
import type { WorkflowRecord, WorkflowStatus } from '../domain/workflow.js';
import type { LoadedWorkflow } from './workflow-file.js';

export interface WorkflowRunResult {
  workflow: WorkflowRecord;
  status: WorkflowStatus;
  counts: Record<TaskStatus, number>;
  resumed: boolean;
}

export interface PreparedWorkflow {
  workflow: WorkflowRecord;
  resumed: boolean;
}

/**
 * Finds the unfinished run of this exact definition (to resume it after a crash or Ctrl-C) or creates
 * a new run with its tasks. `fresh` always starts a new run.
 */
export async function prepareWorkflowRun(colony: Colony, loaded: LoadedWorkflow, options: { fresh?: boolean } = {}): Promise<PreparedWorkflow> {
  const { store } = colony;
  if (!options.fresh) {
    const unfinished = await store.workflows.find({ definitionHash: loaded.hash, status: 'running' });
    if (unfinished) return { workflow: unfinished, resumed: true };
  }
  const now = colony.now();
  const workflow: WorkflowRecord = {
    id: colony.newId('workflow'),
    name: loaded.definition.name,
    source: loaded.source,
    definitionHash: loaded.hash,
    status: 'running',
    createdAt: now,
    updatedAt: now,
    completedAt: null,
  };
  // Validate the tasks before anything is stored, so a bad file leaves no empty run behind.
  await colony.tasks.validate(loaded.specs);
  await store.workflows.insert(workflow);
  try {
    await colony.tasks.submit(loaded.specs, { workflowId: workflow.id });
  } catch (error) {
    await store.workflows.updateStatus(workflow.id, 'failed', colony.now());
    throw error;
  }
  return { workflow, resumed: false };
}

/** Runs a prepared workflow to the end in this process and records its outcome. */
export async function runWorkflow(colony: Colony, prepared: PreparedWorkflow, signal?: AbortSignal): Promise<WorkflowRunResult> {
  const { workflow, resumed } = prepared;
  const counts0 = await colony.tasks.countByStatus({ workflowId: workflow.id });
  colony.events.publish(
    'workflow.started',
    { workflowId: workflow.id, name: workflow.name, tasks: Object.values(counts0).reduce((a, b) => a + b, 0), resumed },
    { source: 'workflow', correlationId: workflow.id },
  );
  const counts = await colony.tasks.waitForWorkflow(workflow.id, signal);
  const status: WorkflowStatus = counts.failed > 0 ? 'failed' : counts.cancelled > 0 ? 'cancelled' : 'completed';
  await colony.store.workflows.updateStatus(workflow.id, status, colony.now());
  colony.events.publish('workflow.finished', { workflowId: workflow.id, name: workflow.name, status, counts }, { source: 'workflow', correlationId: workflow.id });
  const stored = (await colony.store.workflows.get(workflow.id)) ?? workflow;
  return { workflow: stored, status, counts, resumed };
}
