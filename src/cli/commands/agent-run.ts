import type { Colony } from '../../app/colony.js';
import type { AgentRecord } from '../../domain/agent.js';
import { isTerminal, type TaskRecord } from '../../domain/task.js';
import { formatDuration } from '../../tasks/duration.js';
import type { GlobalOptions } from '../cli-context.js';
import { withColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, printJson } from '../output.js';
import { runUntilDone } from '../run-until-done.js';

export interface AgentRunOptions extends GlobalOptions {
  provider?: string;
  model?: string;
  maxTurns?: number;
  maxTokens?: number;
  retries?: number;
}

interface AgentTaskResult {
  result: unknown;
  turns: number;
  usage: { inputTokens: number; outputTokens: number; costUsd: number | null };
  provider: string;
  model: string;
}

/**
 * `colony agent run <type> "<task>"`: an agent of that type works on the task in this process. The
 * model's text streams to stdout as it arrives; tool calls and the summary go to stderr. The agent
 * is this command's own: spawned for the task and terminated when the command ends, however it ends.
 */
export async function agentRunCommand(type: string, promptWords: string[], options: AgentRunOptions): Promise<number> {
  const prompt = promptWords.join(' ').trim();
  return withColony(options, 'run', async (colony) => {
    await colony.agents.type(type); // An unknown type is a usage error before anything is stored.
    const spec = {
      type: 'agent',
      description: prompt.slice(0, 200),
      input: {
        prompt,
        ...(options.provider ? { provider: options.provider } : {}),
        ...(options.model ? { model: options.model } : {}),
        ...(options.maxTurns ? { maxTurns: options.maxTurns } : {}),
        ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}),
      },
      maxRetries: options.retries ?? 0,
    };
    // Bad input (an unknown provider) is refused before an agent is spawned for it.
    await colony.tasks.validate([{ ...spec, requirements: { agentType: type } }]);
    const agent = await colony.agents.spawn({ type });
    try {
      return await runOnAgent(colony, agent, spec, options);
    } finally {
      await retire(colony, agent);
    }
  });
}

async function runOnAgent(colony: Colony, agent: AgentRecord, spec: Record<string, unknown>, options: AgentRunOptions): Promise<number> {
  const type = agent.type;
  const [task] = (await colony.tasks.submit([{ ...spec, requirements: { agentType: type, agentIds: [agent.id] } }])) as [TaskRecord];

  const err = process.stderr;
  let midLine = false;
  const endLine = () => {
    if (midLine) process.stdout.write('\n');
    midLine = false;
  };
  if (!options.json) {
    err.write(color.dim(`${type} agent ${agent.name} on task ${task.id}\n`));
    colony.events.subscribe({ types: ['agent.output', 'agent.tool_called', 'task.failed', 'provider.retried', 'provider.state_changed'] }, (e) => {
      if (e.type === 'agent.output') {
        const d = e.data;
        if (d.taskId !== task.id) return;
        process.stdout.write(d.text);
        midLine = !d.text.endsWith('\n');
      } else if (e.type === 'agent.tool_called') {
        const d = e.data;
        endLine();
        err.write(`${d.ok ? color.cyan('⚙') : color.red('⚙')} ${d.tool}${d.ok ? '' : color.red(` failed: ${d.error ?? ''}`)}\n`);
      } else if (e.type === 'task.failed') {
        const d = e.data;
        if (d.taskId === task.id && d.willRetry) err.write(color.yellow(`↻ attempt ${d.attempt} failed (${d.error.message}); retrying\n`));
      } else if (e.type === 'provider.retried') {
        const d = e.data;
        err.write(color.yellow(`↻ ${d.provider}: ${d.error}; retry ${d.attempt} in ${formatDuration(d.delayMs)}\n`));
      } else {
        const d = e.data;
        err.write(color.yellow(`⚡ ${d.provider} circuit ${d.state}\n`));
      }
    });
  }
  const outcome = await runUntilDone(colony, { taskIds: [task.id] }, (signal) => colony.tasks.waitFor([task.id], signal));
  await colony.events.flush();
  endLine();
  if (outcome.interrupted) {
    // Nothing else would run the task: it is pinned to this command's agent, which is retired next.
    const left = await colony.tasks.get(task.id);
    if (!isTerminal(left.status)) await colony.tasks.cancel(task.id, 'colony agent run was interrupted').catch(() => undefined);
    err.write(`interrupted; task ${task.id} is ${(await colony.tasks.get(task.id)).status}\n`);
    return outcome.signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  }
  const done = (outcome.value as TaskRecord[])[0] as TaskRecord;
  if (options.json) {
    printJson(done);
  } else if (done.status === 'completed') {
    const r = done.result as unknown as AgentTaskResult;
    const cost = r.usage.costUsd === null ? 'cost unknown' : `$${r.usage.costUsd.toFixed(4)}`;
    err.write(
      `${color.green('✓')} ${type} finished in ${r.turns} turn${r.turns === 1 ? '' : 's'} · ${r.provider}/${r.model} · ${r.usage.inputTokens} in / ${r.usage.outputTokens} out tokens · ${cost}\n`,
    );
    if (typeof r.result !== 'string') process.stdout.write(`${JSON.stringify(r.result, null, 2)}\n`);
    err.write(color.dim(`  transcript: colony task transcript ${done.id}\n`));
  } else {
    err.write(`${color.red('✗')} ${type} ${done.status}: ${done.error?.message ?? ''}\n`);
    err.write(color.dim(`  transcript: colony task transcript ${done.id}\n`));
  }
  return done.status === 'completed' ? EXIT.ok : EXIT.failed;
}

/** Terminates the command's agent, so that it is not left registered and counted as active. */
async function retire(colony: Colony, agent: AgentRecord): Promise<void> {
  await colony.agents.terminate(agent.id, 'colony agent run ended').catch((error: unknown) => {
    // Terminated meanwhile (by `colony agent terminate`): retired all the same.
    if ((error as { code?: string }).code !== 'conflict') throw error;
  });
}
