import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { formatDuration } from '../../tasks/duration.js';
import { databaseKind } from '../../app/config.js';
import { loadCliConfig, withColony, type GlobalOptions } from '../cli-context.js';
import { color, formatBytes, isoTime, printJson, printTable, println, statusColor } from '../output.js';

/** SQLite in WAL mode keeps recent writes in `-wal` (with its index in `-shm`) until a checkpoint. */
const SQLITE_FILE_SUFFIXES = ['', '-wal', '-shm'] as const;
/** A hook's command in the status table: the table stays one line per hook (`--json` has more of it). */
const HOOK_COMMAND_SHOWN_CHARS = 60;

/**
 * Reports what is actually there: every live Colony process (its role, host, pid, pools, start and
 * heartbeat age), task and agent counts, the database.
 */
export async function statusCommand(options: GlobalOptions): Promise<void> {
  const { config } = loadCliConfig(options);
  if (databaseKind(config.database) === 'sqlite' && !existsSync(config.database.path)) {
    // Nothing here yet: say so, without creating a database as a side effect of looking.
    if (options.json) return printJson({ projectDir: config.projectDir, initialized: false, database: { path: config.database.path } });
    println(`no Colony database at ${config.database.path} yet: \`colony init\` creates one`);
    return;
  }
  await withColony(options, 'cli', async (colony) => {
    const [runners, tasks, agents, workflows, store, circuits, swarms, sandbox, memory, limits, hooks] = await Promise.all([
      colony.runners.liveProcesses(),
      colony.tasks.countByStatus(),
      colony.agents.list({ excludeTerminated: true }),
      colony.workflows.list({ status: 'running', limit: 20 }),
      colony.health(),
      colony.providerCircuits(),
      colony.swarms.list({ status: ['planning', 'running', 'paused'], limit: 20 }),
      colony.sandbox.status(),
      colony.memoryStatus(),
      colony.limitsReached(),
      colony.hooksStatus(),
    ]);
    const schema = store.schemaVersion;
    // Breakers live in the processes that call providers: each live one's state, with its age and owner.
    const providers = circuits.map((c) => ({
      provider: c.provider,
      circuit: c.state,
      since: isoTime(c.since),
      ageMs: c.ageMs,
      runner: c.runner,
    }));
    // The SQLite file (its size on disk with its WAL), or the PostgreSQL server without credentials.
    const path = colony.storeLocation;
    const sizeBytes = databaseKind(colony.config.database) === 'sqlite' ? onDiskBytes(path) : null;
    const agentCounts: Record<string, number> = {};
    for (const a of agents) agentCounts[a.status] = (agentCounts[a.status] ?? 0) + 1;
    const others = runners.filter((r) => !r.self);
    const status = {
      projectDir: colony.config.projectDir,
      initialized: true,
      database: { path, sizeBytes, schemaVersion: schema },
      runners: others.map((r) => ({
        id: r.id,
        role: r.role,
        kind: r.kind,
        runsTasks: r.runsTasks,
        pid: r.pid,
        host: r.hostname,
        pools: r.pools,
        startedAt: isoTime(r.startedAt),
        heartbeatAt: isoTime(r.heartbeatAt),
        heartbeatAgeMs: r.heartbeatAgeMs,
      })),
      tasks,
      agents: { active: agents.length, byStatus: agentCounts },
      workflowsRunning: workflows.map((w) => ({ id: w.id, name: w.name, startedAt: isoTime(w.createdAt) })),
      swarmsActive: swarms.map((w) => ({ id: w.id, name: w.name, topology: w.topology, status: w.status, progress: w.progress, createdAt: isoTime(w.createdAt) })),
      providers,
      limitsReached: limits.map((l) => ({ limit: l.limit, value: l.value, provider: l.provider, since: isoTime(l.since), ageMs: l.ageMs, runner: l.runner })),
      sandbox,
      memory,
      // Configured servers; each runs inside the processes whose agents use it, so this process's state is only its own.
      mcpServers: colony.mcp.status(),
      hooks,
    };
    if (options.json) return printJson(status);

    println(color.bold('Colony status'));
    println(`  project   ${status.projectDir}`);
    println(`  database  ${path}${sizeBytes === null ? '' : ` (${formatBytes(sizeBytes)} on disk, schema ${schema})`}`);
    println(`  host      ${hostname()}`);
    println(
      sandbox.degraded
        ? `  sandbox   ${color.red(`NONE: shell commands are not isolated (${sandbox.reason})`)}`
        : `  sandbox   ${color.green('bubblewrap')} (${sandbox.version ?? 'bwrap'}): commands write only to the workspace and cannot see the server`,
    );
    println(`  memory    ${memory.degraded ? color.yellow(memory.summary) : memory.summary}`);
    println();
    println(color.bold(`Processes (${others.length} live)`));
    if (others.length === 0) println(color.dim('  none: no Colony process is serving or running tasks now'));
    else {
      printTable(
        ['ID', 'ROLE', 'HOST', 'PID', 'POOLS', 'STARTED', 'HEARTBEAT'],
        others.map((r) => [r.id, r.role, r.hostname, String(r.pid), r.pools.join(',') || '-', isoTime(r.startedAt), `${formatDuration(r.heartbeatAgeMs)} ago`]),
      );
      if (!others.some((r) => r.runsTasks)) println(color.yellow('  no live process runs tasks: queued work waits for `colony worker` (or `colony up` without --no-work)'));
    }
    println();
    println(color.bold('Tasks'));
    println(`  ${Object.entries(tasks).map(([s, n]) => `${statusColor(s)} ${n}`).join('  ')}`);
    println();
    println(color.bold(`Agents (${agents.length} active)`));
    println(`  ${Object.entries(agentCounts).map(([s, n]) => `${statusColor(s)} ${n}`).join('  ') || color.dim('none')}`);
    if (providers.length > 0) {
      println();
      println(color.bold('Provider circuits (of live processes)'));
      for (const p of providers) {
        const state = p.circuit === 'closed' ? color.green(p.circuit) : color.yellow(p.circuit);
        println(`  ${p.provider}  ${state} for ${formatDuration(p.ageMs)} (since ${p.since})  runner ${p.runner.id}, pid ${p.runner.pid} on ${p.runner.host}`);
      }
    }
    if (status.mcpServers.length > 0) {
      println();
      println(color.bold('MCP servers (started by the agents that use them)'));
      for (const m of status.mcpServers) {
        const where = m.source === 'mcp.json' ? '.mcp.json' : 'config';
        const state = m.state === 'failed' ? color.red(`cannot start: ${m.reason ?? 'unknown reason'}`) : m.state === 'running' ? color.green(`running, ${m.tools ?? 0} tools`) : color.dim('not started in this process');
        println(`  ${m.name}  ${m.transport} (${where})  ${state}`);
      }
    }
    const notPassed = hooks.recentRuns.failed + hooks.recentRuns.timedOut + hooks.recentRuns.refused;
    if (hooks.configured.length > 0 || notPassed > 0) {
      println();
      println(color.bold(`Hooks (${hooks.configured.length})`));
      if (hooks.configured.length === 0) println(color.dim('  none configured now'));
      else {
        printTable(
          ['POINT', 'COMMAND', 'SOURCE', 'BLOCKING', 'MATCHER', 'AGENT TYPES'],
          hooks.configured.map((h) => [h.point, cut(h.command, HOOK_COMMAND_SHOWN_CHARS), h.source, h.blocking, h.matcher ?? '-', h.agentTypes?.join(',') ?? '-']),
        );
      }
    }
    if (notPassed > 0) {
      const r = hooks.recentRuns;
      println(
        color.yellow(
          `  of the last ${r.scanned} hook runs: ${r.failed} failed, ${r.timedOut} timed out, ${r.refused} refused (${r.blocked} blocked their step); see \`colony events --type hook.ran --newest\``,
        ),
      );
    }
    if (limits.length > 0) {
      println();
      println(color.bold('Limits holding ready work back (of live processes)'));
      for (const l of limits) {
        println(`  ${color.yellow(l.limit)} = ${l.value}  for ${formatDuration(l.ageMs)}  runner ${l.runner.id}, pid ${l.runner.pid} on ${l.runner.host}: raise it, or add workers`);
      }
    }
    if (workflows.length > 0) {
      println();
      println(color.bold('Unfinished workflow runs'));
      for (const w of workflows) println(`  ${w.id}  ${w.name}  started ${isoTime(w.createdAt)}`);
    }
    if (swarms.length > 0) {
      println();
      println(color.bold('Active swarms'));
      printTable(
        ['ID', 'NAME', 'TOPOLOGY', 'STATUS', 'PROGRESS', 'CREATED'],
        swarms.map((w) => [w.id, w.name, w.topology, statusColor(w.status), `${Math.round(w.progress * 100)}%`, isoTime(w.createdAt)]),
      );
    }
  });
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The database's true size: the main file plus its write-ahead log and shared-memory index. */
function onDiskBytes(path: string): number | null {
  if (!existsSync(path)) return null;
  // The -wal and -shm files come and go with checkpoints and the last connection's close.
  return SQLITE_FILE_SUFFIXES.reduce((sum, suffix) => sum + (statSync(path + suffix, { throwIfNoEntry: false })?.size ?? 0), 0);
}
