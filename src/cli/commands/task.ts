import type { Colony } from '../../app/colony.js';
import { ValidationError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import { isTerminal, TASK_STATUSES, type TaskRecord, type TaskStatus } from '../../domain/task.js';
import { formatDuration } from '../../tasks/duration.js';
import type { GlobalOptions } from '../cli-context.js';
import { withColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, isoTime, printJson, printTable, println, statusColor, truncate } from '../output.js';
import { describeRunners, runnersOfQueuedWork } from '../queued-work-runners.js';
import { runUntilDone } from '../run-until-done.js';

export interface TaskCreateOptions extends GlobalOptions {
  type: string;
  command?: string;
  input?: unknown;
  name?: string;
  description?: string;
  priority?: string;
  dependsOn?: string[];
  parent?: string;
  timeout?: string;
  retries?: number;
  capability?: string[];
  agentType?: string;
  /** The worker pool whose workers alone run it (a list from the option's parser; one name allowed). */
  pool?: string[];
  wait?: boolean;
}

export async function taskCreateCommand(options: TaskCreateOptions): Promise<number> {
  let input: JsonValue = (options.input as JsonValue) ?? {};
  if (options.command !== undefined) {
    if (options.type !== 'shell') throw new ValidationError('option --command is for shell tasks; use --input for other types');
    input = { ...(typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {}), command: options.command };
  }
  if ((options.pool?.length ?? 0) > 1) throw new ValidationError(`option --pool: a task belongs to one pool, got ${options.pool?.join(', ')}`);
  const pool = options.pool?.[0];
  // --wait runs the task in this process, which serves no pool: only a worker of the pool may run it.
  if (pool !== undefined && options.wait) throw new ValidationError(`--pool ${pool} leaves the task to workers of that pool; --wait would run it here: use one of them`);
  const priority = options.priority === undefined ? undefined : /^\d+$/.test(options.priority) ? Number(options.priority) : options.priority;
  const spec = {
    type: options.type,
    name: options.name,
    description: options.description ?? options.command ?? '',
    input,
    priority,
    dependencies: options.dependsOn ?? [],
    parentId: options.parent,
    timeoutMs: options.timeout,
    maxRetries: options.retries,
    requirements: { ...(options.capability?.length ? { capabilities: options.capability } : {}), ...(options.agentType ? { agentType: options.agentType } : {}) },
    ...(pool === undefined ? {} : { pool }),
  };
  return withColony(options, options.wait ? 'run' : 'cli', async (colony) => {
    const deps = await Promise.all((options.dependsOn ?? []).map((d) => colony.tasks.resolveId(d).catch(() => d)));
    const parent = options.parent ? await colony.tasks.resolveId(options.parent) : undefined;
    const [task] = (await colony.tasks.submit([{ ...spec, dependencies: deps, parentId: parent }])) as [TaskRecord];
    if (!options.wait) {
      if (options.json) printJson(task);
      else {
        println(`${color.green('✓')} created task ${task.id} (${task.status})`);
        const runners = await runnersOfQueuedWork(colony, task.pool);
        if (runners.length > 0) println(color.dim(`  ${describeRunners(runners)} on this database will run it`));
        else if (task.pool !== null) println(color.yellow(`  no live worker serves pool ${task.pool}: it runs when \`colony worker --pool ${task.pool}\` does`));
        else println(color.dim('  it runs when a Colony process runs tasks: `colony worker` or `colony up`, or create it with --wait'));
      }
      return EXIT.ok;
    }
    return waitAndReport(colony, task.id, options);
  });
}

async function waitAndReport(colony: Colony, id: string, options: GlobalOptions): Promise<number> {
  // Only this task (and subtasks it creates) runs here: other queued work is not this command's business.
  const outcome = await runUntilDone(colony, { taskIds: [id] }, (signal) => colony.tasks.waitFor([id], signal));
  if (outcome.interrupted) {
    process.stderr.write(`${await interruptedNotice(colony, id)}\n`);
    return outcome.signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  }
  const [done] = outcome.value as [TaskRecord];
  if (options.json) printJson(done);
  else printTask(done);
  return done.status === 'completed' ? EXIT.ok : EXIT.failed;
}

/** Where an interrupted task stands, and who (if anyone) will run it now. */
async function interruptedNotice(colony: Colony, id: string): Promise<string> {
  const task = await colony.tasks.get(id);
  if (isTerminal(task.status)) return `interrupted; task ${id} is ${task.status}: \`colony task show ${id}\``;
  const runners = await runnersOfQueuedWork(colony);
  if (runners.length > 0) return `interrupted; task ${id} is ${task.status}: ${describeRunners(runners)} on this database will run it`;
  return `interrupted; task ${id} is ${task.status}: it runs when a Colony process runs tasks (\`colony worker\`, \`colony up\`), or cancel it with \`colony task cancel ${id}\``;
}

export async function taskListCommand(
  options: GlobalOptions & { status?: string[]; type?: string; workflow?: string; limit: number; offset: number },
): Promise<void> {
  const bad = (options.status ?? []).find((s) => !TASK_STATUSES.includes(s as TaskStatus));
  if (bad) throw new ValidationError(`option --status: expected one of ${TASK_STATUSES.join(', ')}, got "${bad}"`);
  await withColony(options, 'cli', async (colony) => {
    const tasks = await colony.tasks.list({
      status: options.status?.length ? (options.status as TaskStatus[]) : undefined,
      type: options.type,
      workflowId: options.workflow,
      limit: options.limit,
      offset: options.offset,
    });
    if (options.json) return printJson(tasks);
    printTable(
      ['ID', 'NAME', 'TYPE', 'STATUS', 'PRI', 'TRIES', 'DURATION', 'DESCRIPTION'],
      tasks.map((t) => [
        t.id,
        t.name ?? '-',
        t.type,
        statusColor(t.status),
        String(t.priority),
        `${t.attempts}/${t.maxAttempts}`,
        t.startedAt && t.completedAt ? formatDuration(t.completedAt - t.startedAt) : '-',
        truncate(t.description, 48),
      ]),
    );
  }, {}, { mustExist: true });
}

export async function taskShowCommand(id: string, options: GlobalOptions): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const task = await colony.tasks.get(id);
    if (options.json) return printJson(task);
    printTask(task);
  }, {}, { mustExist: true });
}

export async function taskCancelCommand(id: string, options: GlobalOptions & { reason?: string }): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const task = await colony.tasks.cancel(id, options.reason);
    if (options.json) return printJson(task);
    println(`${color.green('✓')} cancelled ${task.id}; tasks that depend on it are cancelled too`);
  }, {}, { mustExist: true });
}

export async function taskUpdateCommand(
  id: string,
  options: GlobalOptions & { priority?: string; agent?: string; anyAgent?: boolean; pool?: string[]; anyPool?: boolean },
): Promise<void> {
  if (options.agent !== undefined && options.anyAgent) throw new ValidationError('give --agent or --any-agent, not both');
  if (options.pool !== undefined && options.anyPool) throw new ValidationError('give --pool or --any-pool, not both');
  if ((options.pool?.length ?? 0) > 1) throw new ValidationError(`option --pool: a task belongs to one pool, got ${options.pool?.join(', ')}`);
  const revision: Record<string, unknown> = {};
  if (options.priority !== undefined) revision.priority = /^\d+$/.test(options.priority) ? Number(options.priority) : options.priority;
  if (options.agent !== undefined) revision.agentId = options.agent;
  if (options.anyAgent) revision.agentId = null;
  if (options.pool !== undefined) revision.pool = options.pool[0];
  if (options.anyPool) revision.pool = null;
  await withColony(options, 'cli', async (colony) => {
    // An agent given by a unique prefix is resolved first, as everywhere else.
    if (typeof revision.agentId === 'string') revision.agentId = await colony.agents.resolveId(revision.agentId);
    const task = await colony.tasks.revise(id, revision);
    if (options.json) return printJson(task);
    const pin = task.requirements.agentIds ? `runs on ${task.requirements.agentIds.join(', ')}` : 'any suitable agent may run it';
    println(`${color.green('✓')} ${task.id}: priority ${task.priority}; ${pin}${task.pool ? `; only workers of pool ${task.pool} run it` : ''}`);
  }, {}, { mustExist: true });
}

export async function taskRetryCommand(id: string, options: GlobalOptions & { wait?: boolean }): Promise<number> {
  return withColony(options, options.wait ? 'run' : 'cli', async (colony) => {
    const task = await colony.tasks.retry(id);
    if (options.wait) return waitAndReport(colony, task.id, options);
    if (options.json) printJson(task);
    else println(`${color.green('✓')} task ${task.id} is ${task.status} again (${task.maxAttempts - task.attempts} more attempts)`);
    return EXIT.ok;
  }, {}, { mustExist: true });
}

function printTask(t: TaskRecord): void {
  // A named task shows its name and id; an unnamed one its id, once.
  println(t.name ? `${color.bold(t.name)} ${color.dim(t.id)}` : color.bold(t.id));
  println(`  type          ${t.type}`);
  println(`  status        ${statusColor(t.status)}   attempts ${t.attempts}/${t.maxAttempts}   priority ${t.priority}`);
  if (t.description) println(`  description   ${truncate(t.description, 100)}`);
  if (t.dependencies.length) println(`  depends on    ${t.dependencies.join(', ')}`);
  if (t.parentId) println(`  parent        ${t.parentId}`);
  if (t.workflowId) println(`  workflow      ${t.workflowId}`);
  if (t.assignedAgent) println(`  agent         ${t.assignedAgent}`);
  if (t.pool) println(`  pool          ${t.pool} (only its workers run it)`);
  if (t.runnerId) println(`  runner        ${t.runnerId}`);
  println(`  created       ${isoTime(t.createdAt)}`);
  if (t.startedAt) println(`  started       ${isoTime(t.startedAt)}`);
  if (t.completedAt) println(`  finished      ${isoTime(t.completedAt)}${t.startedAt ? ` (${formatDuration(t.completedAt - t.startedAt)})` : ''}`);
  if (t.error) println(`  error         ${color.red(`${t.error.code}: ${t.error.message}`)}`);
  if (t.result !== null) {
    const r = t.result as Record<string, unknown>;
    if (typeof r === 'object' && r && 'stdout' in r) {
      const out = String(r.stdout).trimEnd();
      const err = String(r.stderr ?? '').trimEnd();
      println(`  exit code     ${String(r.exitCode)}`);
      if (out) println(`  stdout\n${indent(out)}`);
      if (err) println(`  stderr\n${indent(err)}`);
    } else println(`  result        ${JSON.stringify(t.result)}`);
  }
}

function indent(text: string): string {
  const lines = text.split('\n');
  const shown = lines.slice(-20).map((l) => `    ${l}`);
  return (lines.length > 20 ? `    … ${lines.length - 20} more lines\n` : '') + shown.join('\n');
}
