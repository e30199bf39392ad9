import type { FastifyInstance } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { databaseKind } from '../../app/config.js';
import { HOOK_POINTS } from '../../hooks/hook-config.js';
import { HOOK_EVENT_COMMAND_MAX_CHARS } from '../../hooks/hook-defaults.js';
import { HOOK_RUNS_SCANNED } from '../../hooks/hooks-status.js';
import { API_PREFIX } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { ERROR_RESPONSES } from '../schemas.js';

const noBody = z.strictObject({}).nullish();
const healthSchema = z.object({ status: z.enum(['ok', 'degraded', 'down']), components: z.record(z.string(), z.unknown()) });
const tags = ['system'];

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

const liveCircuitSchema = z.object({
  provider: z.string(),
  state: z.enum(['closed', 'open', 'half-open']),
  since: z.number(),
  ageMs: z.number(),
  runner: z.object({ id: z.string(), kind: z.string(), pid: z.number(), host: z.string() }),
});

const liveLimitSchema = z.object({
  limit: z.string().meta({ description: 'The configuration key: `tasks.concurrency`, `tasks.shellConcurrency`, `providers.<id>.maxConcurrency`' }),
  value: z.number(),
  provider: z.string().nullable(),
  since: z.number(),
  ageMs: z.number(),
  runner: z.object({ id: z.string(), kind: z.string(), pid: z.number(), host: z.string() }),
});

const systemStatusSchema = z.object({
  version: z.string(),
  projectDir: z.string(),
  server: z.object({
    pid: z.number().int(),
    startedAt: z.number(),
    uptimeSeconds: z.number(),
    runnerId: z.string(),
    authRequired: z.boolean(),
    eventStreamClients: z.number().int(),
  }),
  database: z.object({
    kind: z.enum(['sqlite', 'postgres']),
    path: z.string().meta({ description: 'The SQLite file, or the PostgreSQL server and database (no credentials)' }),
    sizeBytes: z.number().nullable().meta({ description: 'The SQLite file\'s size; null for PostgreSQL' }),
    schemaVersion: z.string().nullable(),
    latestSchema: z.string().meta({ description: 'The newest migration this build knows: schemaVersion below it means the database is not migrated yet' }),
  }),
  runners: z
    .array(
      z.object({
        id: z.string(),
        role: z.string().meta({ description: '`server`, `server --no-work` (serves only), `worker`, `run`, `swarm`, `mcp` or `library`' }),
        kind: z.string(),
        runsTasks: z.boolean(),
        pid: z.number().nullable(),
        host: z.string().nullable(),
        pools: z.array(z.string()).meta({ description: 'The worker pools it serves (`colony worker --pool`): their tasks run only on such processes' }),
        startedAt: z.number(),
        heartbeatAt: z.number(),
        heartbeatAgeMs: z.number().meta({ description: "Since its latest heartbeat, by the database's clock" }),
      }),
    )
    .meta({ description: 'Every live Colony process on this database, this server included' }),
  tasks: z.record(z.string(), z.number().int()),
  agents: z.object({ active: z.number().int(), byStatus: z.record(z.string(), z.number().int()) }),
  workflowsRunning: z.array(z.object({ id: z.string(), name: z.string(), startedAt: z.number() })),
  sandbox: z.unknown().meta({ description: 'The shell sandbox: `degraded: true` when commands run on the host with the command policy alone' }),
  providerCircuits: z.array(liveCircuitSchema).meta({ description: 'Circuit breaker state per provider in each live process, with its age and owner' }),
  limitsReached: z.array(liveLimitSchema).meta({ description: 'Limits of live processes holding ready work back now (their slots full with more waiting), since when' }),
  memory: z
    .object({
      tiers: z.array(z.enum(['L1', 'L2', 'L3'])),
      redis: z.object({ description: z.string(), healthy: z.boolean() }).nullable(),
      degraded: z.boolean(),
      summary: z.string(),
    })
    .meta({ description: 'Memory tiers answering now: `degraded: true` when the configured Redis does not, and memory runs on L1 and the database' }),
  mcpServers: z
    .array(
      z.object({
        name: z.string(),
        transport: z.enum(['stdio', 'http', 'sse']),
        source: z.enum(['mcp.json', 'config']),
        state: z.enum(['not_started', 'starting', 'running', 'failed']),
        reason: z.string().optional(),
        tools: z.number().int().optional(),
        pid: z.number().int().optional(),
      }),
    )
    .meta({ description: "The configured MCP servers agents take tools from, and their state in this server's process (each starts on first use)" }),
  hooks: z
    .object({
      configured: z
        .array(
          z.object({
            point: z.enum(HOOK_POINTS),
            command: z.string().meta({ description: `The command line, cut to ${HOOK_EVENT_COMMAND_MAX_CHARS} characters` }),
            source: z.string().meta({ description: '`colony` (config.yaml) or the Claude Code settings file it was read from (`.claude/settings.json`, `.claude/settings.local.json`)' }),
            blocking: z.enum(['any-failure', 'never', 'exit-code-2']).meta({ description: 'Which failures block the step: any, none (only reported), or exit status 2 (Claude Code\'s convention)' }),
            matcher: z.string().nullable().meta({ description: 'The tool-name pattern of a toolCalling or fileEdited hook; null: every tool' }),
            agentTypes: z.array(z.string()).nullable().meta({ description: 'Runs only for tasks whose agent is of these types; null: every task' }),
            timeoutMs: z.number().int(),
          }),
        )
        .meta({ description: 'The configured hooks in the order they run: Colony\'s config, then the Claude Code settings files' }),
      recentRuns: z
        .object({
          scanned: z.number().int(),
          failed: z.number().int(),
          timedOut: z.number().int(),
          refused: z.number().int(),
          blocked: z.number().int(),
          latestAt: z.number().nullable(),
        })
        .meta({ description: `Of the newest ${HOOK_RUNS_SCANNED} hook runs recorded by any process: how many failed, timed out or were refused (never ran), and how many of those blocked their step` }),
    })
    .meta({ description: 'Hooks: commands run at task and swarm lifecycle points (README "Hooks")' }),
});

const diagnosticsSchema = z.object({
  ok: z.boolean(),
  checkedAt: z.number(),
  durationMs: z.number(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string(), data: z.unknown().optional() })),
});

export function registerSystemRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { colony } = ctx;

  app.get(
    `${API_PREFIX}/system/status`,
    { schema: { tags, summary: 'Runners, task and agent counts, workflows, database, server and hooks', response: { 200: systemStatusSchema, ...ERROR_RESPONSES } } },
    async () => {
      const [runners, tasks, agents, workflows, store, authRequired, sandbox, providerCircuits, memory, limitsReached, hooks] = await Promise.all([
        colony.runners.liveProcesses(),
        colony.tasks.countByStatus(),
        colony.agents.list({ excludeTerminated: true }),
        colony.workflows.list({ status: 'running', limit: 20 }),
        colony.health(),
        ctx.auth.required(),
        colony.sandbox.status(),
        colony.providerCircuits(),
        colony.memoryStatus(),
        colony.limitsReached(),
        colony.hooksStatus(),
      ]);
      const byStatus: Record<string, number> = {};
      for (const a of agents) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
      const path = colony.storeLocation;
      return {
        version: ctx.version,
        projectDir: colony.config.projectDir,
        server: {
          pid: process.pid,
          startedAt: ctx.startedAt,
          uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
          runnerId: colony.runners.id,
          authRequired,
          eventStreamClients: ctx.hub.size,
        },
        database: {
          kind: databaseKind(colony.config.database),
          path,
          sizeBytes: existsSync(path) ? statSync(path).size : null,
          schemaVersion: store.schemaVersion,
          latestSchema: store.latestSchema,
        },
        runners: runners.map((r) => ({
          id: r.id,
          role: r.role,
          kind: r.kind,
          runsTasks: r.runsTasks,
          pid: r.pid,
          host: r.hostname,
          pools: r.pools,
          startedAt: r.startedAt,
          heartbeatAt: r.heartbeatAt,
          heartbeatAgeMs: r.heartbeatAgeMs,
        })),
        tasks,
        agents: { active: agents.length, byStatus },
        workflowsRunning: workflows.map((w) => ({ id: w.id, name: w.name, startedAt: w.createdAt })),
        /** `degraded: true`: shell commands run on the host with the command policy alone (the dashboard shows a banner). */
        sandbox,
        providerCircuits,
        limitsReached,
        memory,
        mcpServers: colony.mcp.status(),
        hooks,
      };
    },
  );

  app.get(
    `${API_PREFIX}/system/health`,
    {
      schema: {
        tags,
        summary: 'Component health: 200 when the store answers at the latest schema, 503 otherwise',
        response: { 200: healthSchema, 503: healthSchema, ...ERROR_RESPONSES },
      },
    },
    async (_request, reply) => {
      const [store, live] = await Promise.all([colony.health(), colony.runners.liveRunners().catch(() => [])]);
      // Registered and live; a server started with --no-work is meant to run no tasks, and is healthy so.
      const registered = live.some((r) => r.id === colony.runners.id);
      const engineRunning = registered && colony.runners.runsTasks;
      const providers = colony.providers.list().map((p) => ({ id: p.id, breaker: p.breaker }));
      const degraded = !registered || providers.some((p) => p.breaker === 'open');
      const status = !store.ok ? 'down' : degraded ? 'degraded' : 'ok';
      reply.code(store.ok ? 200 : 503);
      const engine = { running: engineRunning, runnerId: colony.runners.id, runsTasks: colony.runners.runsTasks, pools: colony.runners.pools };
      return { status, components: { store, engine, providers, eventStream: { clients: ctx.hub.size } } };
    },
  );

  app.get(
    `${API_PREFIX}/system/metrics`,
    { schema: { tags, summary: 'Prometheus metrics (text exposition format)', response: { 200: z.string().meta({ description: 'Prometheus text exposition format', mediaType: 'text/plain' }), ...ERROR_RESPONSES } } },
    async (_request, reply) => {
      const text = await ctx.metrics.render();
      return reply.header('content-type', ctx.metrics.contentType).send(text);
    },
  );

  app.post(
    `${API_PREFIX}/system/diagnostics`,
    {
      schema: {
        tags,
        summary: 'Run diagnostic checks: store and schema, runners and orphaned work, engine, providers\' circuits, agent catalog, executors',
        body: noBody,
        response: { 200: diagnosticsSchema, ...ERROR_RESPONSES },
      },
    },
    async () => {
      const started = performance.now();
      const checks: { name: string; ok: boolean; detail: string; data?: unknown }[] = [];
      const run = async (name: string, fn: () => Promise<{ ok: boolean; detail: string; data?: unknown }>) => {
        try {
          checks.push({ name, ...(await fn()) });
        } catch (error) {
          checks.push({ name, ok: false, detail: `check failed: ${(error as Error).message}` });
        }
      };
      await run('store', async () => {
        const s = await colony.health();
        return {
          ok: s.ok,
          detail: s.error
            ? `store not reachable: ${s.error}`
            : s.ok
              ? `reachable in ${s.latencyMs} ms, schema ${s.schemaVersion} (latest)`
              : `schema ${s.schemaVersion ?? 'none'} is behind ${s.latestSchema}`,
          data: s,
        };
      });
      await run('runners', async () => {
        const [live, orphaned] = await Promise.all([colony.runners.liveRunners(), colony.runners.deadRunnersHoldingTasks()]);
        return {
          ok: orphaned.length === 0,
          detail:
            orphaned.length === 0
              ? `${live.length} live runner(s); no running task is held by a dead one`
              : `${orphaned.length} dead runner(s) still hold running tasks; the next engine start recovers them`,
          data: { live: live.map((r) => ({ id: r.id, kind: r.kind, pid: r.pid, host: r.hostname, heartbeatAt: r.heartbeatAt })), deadHoldingTasks: orphaned },
        };
      });
      await run('engine', async () => {
        const live = await colony.runners.liveRunners();
        const registered = live.some((r) => r.id === colony.runners.id);
        const workers = live.filter((r) => r.runsTasks && r.id !== colony.runners.id).length;
        const { runsTasks, pools } = colony.runners;
        return {
          ok: registered && (runsTasks || workers > 0),
          detail: !registered
            ? 'this process does not run tasks (the engine is not started)'
            : runsTasks
              ? `this process runs tasks as runner ${colony.runners.id}${pools.length > 0 ? ` (pools ${pools.join(', ')})` : ''}`
              : workers > 0
                ? `this process only serves (--no-work); ${workers} other live process(es) run tasks`
                : 'this process only serves (--no-work) and no live process runs tasks: start `colony worker`',
          data: { runnerId: colony.runners.id, runsTasks, pools, concurrency: colony.config.tasks.concurrency },
        };
      });
      await run('providers', async () => {
        const here = colony.providers.list().map((p) => ({ id: p.id, keyConfigured: p.keyConfigured, breaker: p.breaker }));
        const reported = await colony.providerCircuits();
        const open = [...here.filter((p) => p.breaker === 'open').map((p) => p.id), ...reported.filter((r) => r.state === 'open').map((r) => r.provider)];
        return {
          ok: open.length === 0,
          detail: open.length === 0 ? 'no provider circuit is open' : `open circuit(s): ${[...new Set(open)].join(', ')}`,
          data: { inThisProcess: here, liveProcesses: reported, default: colony.providers.defaultProvider },
        };
      });
      await run('agent-catalog', async () => {
        const [types, problems] = await Promise.all([colony.agents.types(), colony.agents.catalogProblems()]);
        return {
          ok: problems.length === 0,
          detail: problems.length === 0 ? `${types.length} agent types` : `${types.length} agent types; ${problems.length} file(s) skipped`,
          data: { types: types.length, problems },
        };
      });
      await run('executors', async () => {
        const types = colony.tasks.executorTypes();
        return { ok: types.length > 0, detail: `task types: ${types.join(', ')}`, data: { types } };
      });
      return { ok: checks.every((c) => c.ok), checkedAt: Date.now(), durationMs: round(performance.now() - started), checks };
    },
  );
}
