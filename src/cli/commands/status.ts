import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadCliConfig, withColony, type GlobalOptions } from '../cli-context.js';
import { color, isoTime, printJson, printTable, println, statusColor } from '../output.js';

/** Reports what is actually there: live runner processes, task and agent counts, the database. */
export async function statusCommand(options: GlobalOptions): Promise<void> {
  const { config } = loadCliConfig(options);
  if (!existsSync(config.database.path)) {
    // Nothing here yet: say so, without creating a database as a side effect of looking.
    if (options.json) return printJson({ projectDir: config.projectDir, initialized: false, database: { path: config.database.path } });
    println(`no Colony database at ${config.database.path} yet: \`colony init\` creates one`);
    return;
  }
  await withColony(options, 'cli', async (colony) => {
    const [runners, tasks, agents, workflows, schema, breakerEvents, swarms] = await Promise.all([
      colony.runners.liveRunners(),
      colony.tasks.countByStatus(),
      colony.agents.list({ excludeTerminated: true }),
      colony.store.listWorkflows({ status: 'running', limit: 20 }),
      colony.store.schemaVersion(),
      colony.store.listEvents({ types: ['provider.state_changed'], newestFirst: true, limit: 100 }),
      colony.swarms.list({ status: ['planning', 'running', 'paused'], limit: 20 }),
    ]);
    // Breakers live in the processes that call providers; their last reported state is in the event log.
    const providers = new Map<string, { provider: string; circuit: string; since: string }>();
    for (const e of breakerEvents) {
      const d = e.data as { provider: string; state: string };
      if (!providers.has(d.provider)) providers.set(d.provider, { provider: d.provider, circuit: d.state, since: isoTime(e.timestamp) });
    }
    const path = colony.config.database.path;
    const sizeBytes = existsSync(path) ? statSync(path).size : null;
    const agentCounts: Record<string, number> = {};
    for (const a of agents) agentCounts[a.status] = (agentCounts[a.status] ?? 0) + 1;
    const others = runners.filter((r) => r.id !== colony.runners.id);
    const status = {
      projectDir: colony.config.projectDir,
      initialized: true,
      database: { path, sizeBytes, schemaVersion: schema },
      runners: others.map((r) => ({ id: r.id, kind: r.kind, pid: r.pid, host: r.hostname, startedAt: isoTime(r.startedAt), heartbeatAt: isoTime(r.heartbeatAt) })),
      tasks,
      agents: { active: agents.length, byStatus: agentCounts },
      workflowsRunning: workflows.map((w) => ({ id: w.id, name: w.name, startedAt: isoTime(w.createdAt) })),
      swarmsActive: swarms.map((w) => ({ id: w.id, name: w.name, topology: w.topology, status: w.status, progress: w.progress, createdAt: isoTime(w.createdAt) })),
      providers: [...providers.values()],
    };
    if (options.json) return printJson(status);

    println(color.bold('Colony status'));
    println(`  project   ${status.projectDir}`);
    println(`  database  ${path}${sizeBytes === null ? '' : ` (${(sizeBytes / 1024).toFixed(0)} KiB, schema ${schema})`}`);
    println(`  host      ${hostname()}`);
    println();
    println(color.bold(`Runners (${others.length} live)`));
    if (others.length === 0) println(color.dim('  none: no Colony process is running tasks now'));
    else printTable(['ID', 'KIND', 'PID', 'HOST', 'STARTED'], others.map((r) => [r.id, r.kind, String(r.pid), r.hostname, isoTime(r.startedAt)]));
    println();
    println(color.bold('Tasks'));
    println(`  ${Object.entries(tasks).map(([s, n]) => `${statusColor(s)} ${n}`).join('  ')}`);
    println();
    println(color.bold(`Agents (${agents.length} active)`));
    println(`  ${Object.entries(agentCounts).map(([s, n]) => `${statusColor(s)} ${n}`).join('  ') || color.dim('none')}`);
    if (providers.size > 0) {
      println();
      println(color.bold('Provider circuits (last reported)'));
      for (const p of providers.values()) println(`  ${p.provider}  ${p.circuit === 'closed' ? color.green(p.circuit) : color.yellow(p.circuit)}  since ${p.since}`);
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
