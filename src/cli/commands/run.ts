import type { Colony } from '../../app/colony.js';
import type { TaskRecord } from '../../domain/task.js';
import { readWorkflowFile } from '../../workflow/workflow-file.js';
import { prepareWorkflowRun, runWorkflow } from '../../workflow/workflow-runner.js';
import type { GlobalOptions } from '../cli-context.js';
import { openColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, printJson, printTable, println, statusColor } from '../output.js';
import { describeRunners, runnersOfQueuedWork } from '../queued-work-runners.js';
import { runUntilDone } from '../run-until-done.js';
import { WorkflowProgress } from '../workflow-progress.js';
import { formatDuration } from '../../tasks/duration.js';

export interface RunOptions extends GlobalOptions {
  concurrency?: number;
  fresh?: boolean;
  quiet?: boolean;
}

/**
 * `colony run <workflow.yaml>`: runs a DAG of tasks in parallel with live progress. Running the same
 * file again after a crash or Ctrl-C resumes the unfinished run: completed tasks are not run again.
 */
export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const loaded = readWorkflowFile(file);
  const concurrency = options.concurrency ?? loaded.definition.concurrency;
  const colony = await openColony(options, 'run', concurrency ? { tasks: { concurrency } } : {});
  try {
    const prepared = await prepareWorkflowRun(colony, loaded, { fresh: options.fresh });
    const { workflow } = prepared;
    const initial = await colony.tasks.countByStatus({ workflowId: workflow.id });
    const progress = options.quiet ? null : new WorkflowProgress(workflow.name, initial);
    if (!options.quiet) {
      const verb = prepared.resumed ? `resuming ${workflow.id} (${initial.completed} of ${progress?.total} tasks already done)` : `run ${workflow.id}`;
      process.stderr.write(`${color.bold(workflow.name)}: ${verb}, up to ${colony.config.tasks.concurrency} tasks at once\n`);
    }
    progress?.attach(colony, workflow.id);
    const outcome = await runUntilDone(
      colony,
      { workflowId: workflow.id },
      (signal) => runWorkflow(colony, prepared, signal),
      progress ? (line) => progress.log(color.yellow(line)) : undefined,
    );
    progress?.detach();
    if (outcome.interrupted || !outcome.value) {
      process.stderr.write(`${await interruptedNotice(colony, workflow.id)}\n`);
      return outcome.signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
    }
    const result = outcome.value;
    const tasks = await colony.tasks.list({ workflowId: workflow.id });
    if (options.json) {
      printJson({ workflow: result.workflow, status: result.status, resumed: result.resumed, counts: result.counts, tasks: tasks.map(summary) });
    } else {
      println();
      printTable(
        ['TASK', 'STATUS', 'TRIES', 'DURATION', 'ID'],
        tasks.map((t) => [t.name ?? t.id, statusColor(t.status), String(t.attempts), t.startedAt && t.completedAt ? formatDuration(t.completedAt - t.startedAt) : '-', t.id]),
      );
      const c = result.counts;
      println();
      println(
        `${result.status === 'completed' ? color.green('✓') : color.red('✗')} ${workflow.name} ${result.status}: ${c.completed} completed, ${c.failed} failed, ${c.cancelled} cancelled`,
      );
      if (result.status !== 'completed') println(color.dim('  see a task with `colony task show <id>`; retry one with `colony task retry <id>`'));
    }
    return result.status === 'completed' ? EXIT.ok : EXIT.failed;
  } finally {
    await colony.close();
  }
}

/**
 * What happens to an interrupted run's unfinished tasks: another live process (a `colony up`) may
 * run them now; otherwise they wait for the same command to resume the run.
 */
async function interruptedNotice(colony: Colony, workflowId: string): Promise<string> {
  const counts = await colony.tasks.countByStatus({ workflowId });
  const unfinished = counts.pending + counts.queued + counts.running;
  if (unfinished === 0) return `interrupted after every task of ${workflowId} finished; run the same command again to record its outcome`;
  const runners = await runnersOfQueuedWork(colony);
  const tasks = `${unfinished} unfinished task${unfinished === 1 ? '' : 's'} of ${workflowId}`;
  if (runners.length === 0) return `interrupted with ${tasks}; run the same command again to resume ${workflowId}`;
  return `interrupted; ${describeRunners(runners)} on this database will run the ${tasks}; run the same command again to follow the run to its end`;
}

function summary(t: TaskRecord) {
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    attempts: t.attempts,
    durationMs: t.startedAt && t.completedAt ? t.completedAt - t.startedAt : null,
    error: t.error,
  };
}
