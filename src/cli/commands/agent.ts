import { resolve } from 'node:path';
import type { ArmStats } from '../../agents/adaptive-selector.js';
import { checkTaskKind } from '../../agents/task-kind.js';
import type { AgentRecord, AgentStatus } from '../../domain/agent.js';
import { AGENT_STATUSES } from '../../domain/agent.js';
import { ValidationError } from '../../domain/errors.js';
import { formatDuration } from '../../tasks/duration.js';
import type { GlobalOptions } from '../cli-context.js';
import { loadCliConfig, withColony } from '../cli-context.js';
import { resolveMcpServers } from '../../adapters/mcp-client/resolve-mcp-servers.js';
import { isMcpToolName, mcpToolNameProblems } from '../../agents/runtime/mcp-tool-names.js';
import { color, isoTime, printJson, printTable, println, statusColor, truncate } from '../output.js';

export async function agentSpawnCommand(type: string, options: GlobalOptions & { name?: string; capability?: string[] }): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const agent = await colony.agents.spawn({ type, name: options.name, capabilities: options.capability });
    if (options.json) return printJson(agent);
    println(`${color.green('✓')} spawned ${agent.name} (${agent.id}), type ${agent.type}`);
    println(`  capabilities: ${agent.capabilities.join(', ') || '-'}`);
  });
}

export async function agentListCommand(options: GlobalOptions & { status?: string; type?: string; all?: boolean; limit: number }): Promise<void> {
  if (options.status && !AGENT_STATUSES.includes(options.status as AgentStatus)) {
    throw new ValidationError(`option --status: expected one of ${AGENT_STATUSES.join(', ')}, got "${options.status}"`);
  }
  await withColony(options, 'cli', async (colony) => {
    const agents = await colony.agents.list({
      status: options.status as AgentStatus | undefined,
      type: options.type,
      excludeTerminated: !options.all && !options.status,
      limit: options.limit,
    });
    if (options.json) return printJson(agents);
    printTable(
      ['ID', 'NAME', 'TYPE', 'STATUS', 'HEALTH', 'LOAD', 'CREATED'],
      agents.map((a) => [a.id, a.name, a.type, statusColor(a.status), statusColor(a.health), `${a.currentTasks.length}/${a.maxConcurrency}`, isoTime(a.createdAt)]),
    );
  }, {}, { mustExist: true });
}

export async function agentShowCommand(ref: string, options: GlobalOptions): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const report = await colony.agents.health(ref);
    if (options.json) return printJson(report);
    printAgent(report.agent);
    const t = report.trackRecord;
    println(`  track record  ${t.tasksCompleted} completed, ${t.tasksFailed} failed${t.meanDurationMs === null ? '' : `, mean ${formatDuration(t.meanDurationMs)}`}`);
  }, {}, { mustExist: true });
}

export async function agentTerminateCommand(ref: string, options: GlobalOptions & { reason?: string }): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const agent = await colony.agents.terminate(ref, options.reason);
    if (options.json) return printJson(agent);
    println(`${color.green('✓')} terminated ${agent.name} (${agent.id})`);
  }, {}, { mustExist: true });
}

/** `colony agent pause|resume <agent>`: a paused agent is not given new tasks; its running ones finish. */
export async function agentSetStatusCommand(action: 'pause' | 'resume', ref: string, options: GlobalOptions): Promise<void> {
  await withColony(options, 'cli', async (colony) => {
    const agent = await colony.agents.setStatus(ref, action === 'pause' ? 'paused' : 'idle');
    if (options.json) return printJson(agent);
    println(`${color.green('✓')} ${agent.name} (${agent.id}) is ${agent.status}${action === 'pause' && agent.currentTasks.length > 0 ? `; its ${agent.currentTasks.length} running task(s) finish first` : ''}`);
  }, {}, { mustExist: true });
}

export async function agentTypesCommand(options: GlobalOptions & { capability?: string[] }): Promise<void> {
  // The catalog is files, not database state: listing it needs no database.
  const { builtinAgentsDir, loadAgentCatalog } = await import('../../agents/catalog/load-agent-catalog.js');
  const catalog = await loadAgentCatalog({ builtinDir: builtinAgentsDir(), projectDir: resolve(options.project ?? process.cwd()) });
  const wanted = options.capability ?? [];
  const types = [...catalog.types.values()]
    .filter((t) => wanted.every((c) => t.capabilities.includes(c)))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (options.json) return printJson(types.map(({ systemPrompt, ...rest }) => ({ ...rest, systemPromptLines: systemPrompt.split('\n').length })));
  printTable(
    ['TYPE', 'CAPABILITIES', 'MODEL', 'SOURCE', 'DESCRIPTION'],
    types.map((t) => [t.name, t.capabilities.join(','), t.model ?? '-', t.source, truncate(t.description, 60)]),
  );
  for (const p of catalog.problems) process.stderr.write(`${color.yellow(`warning: skipped ${p.path}: ${p.message}`)}\n`);
  // Types whose tools name MCP servers that are not configured: their tasks would fail, so say so now.
  if (types.some((t) => t.tools.some(isMcpToolName))) {
    const { config } = loadCliConfig(options);
    const servers = resolveMcpServers({ projectDir: config.projectDir, config: config.mcp, env: process.env }).map((server) => server.name);
    for (const t of types) for (const problem of mcpToolNameProblems(t.tools, servers, t.name)) process.stderr.write(`${color.yellow(`warning: ${problem}`)}\n`);
  }
}

/** `colony agent stats`: what adaptive selection has learnt, per kind of task and agent type. */
export async function agentStatsCommand(options: GlobalOptions & { kind?: string }): Promise<void> {
  // Checked before the project is opened: bad input opens nothing.
  if (options.kind !== undefined) checkTaskKind(options.kind, 'option --kind');
  await withColony(options, 'cli', async (colony) => {
    const arms = await colony.selection.stats(options.kind === undefined ? {} : { taskKind: options.kind });
    if (options.json) return printJson(arms.map((a) => ({ ...a, successRate: successRate(a) })));
    printTable(
      ['KIND', 'AGENT TYPE', 'RUNS', 'SUCCESS', 'FAILED', 'RATE', 'MEAN LATENCY', 'MEAN COST'],
      arms.map((a) => [
        a.taskKind,
        a.agentType,
        String(a.successes + a.failures),
        String(a.successes),
        String(a.failures),
        `${Math.round((successRate(a) ?? 0) * 100)}%`,
        a.meanLatencyMs === null ? '-' : formatDuration(a.meanLatencyMs),
        a.meanCostUsd === null ? '-' : `$${a.meanCostUsd.toFixed(4)}`,
      ]),
    );
  }, {}, { mustExist: true });
}

function successRate(a: ArmStats): number | null {
  const runs = a.successes + a.failures;
  return runs === 0 ? null : a.successes / runs;
}

function printAgent(a: AgentRecord): void {
  println(`${color.bold(a.name)} ${color.dim(a.id)}`);
  println(`  type          ${a.type}`);
  println(`  status        ${statusColor(a.status)}   health ${statusColor(a.health)}`);
  println(`  capabilities  ${a.capabilities.join(', ') || '-'}`);
  println(`  load          ${a.currentTasks.length}/${a.maxConcurrency}${a.currentTasks.length ? ` (${a.currentTasks.join(', ')})` : ''}`);
  println(`  created       ${isoTime(a.createdAt)}${a.terminatedAt ? `   terminated ${isoTime(a.terminatedAt)}` : ''}`);
}
