import { createGitCli } from '../adapters/git/git-cli.js';
import { AdaptiveSelector } from '../agents/adaptive-selector.js';
import { peerReviewVote } from '../swarm/peer-review-vote.js';
import { SwarmCoordinator } from '../swarm/swarm-coordinator.js';
import type { Swarms } from '../swarm/swarms.js';
import { AgentManager, type AgentCatalog } from '../agents/agent-manager.js';
import { ConsensusService } from '../consensus/consensus-service.js';
import { reviewTaskResult } from '../consensus/task-review.js';
import { recordAgentTaskOutcomes } from '../agents/outcome-recorder.js';
import { openChangeNotifier, openStore } from './open-store.js';
import { createIdGenerator, type IdKind } from '../domain/ids.js';
import type { Store } from '../ports/store.js';
import { agentSubtaskSpec, createAgentExecutor } from '../agents/runtime/agent-executor.js';
import { memoryContext } from '../agents/runtime/memory-context.js';
import type { MemoryManager } from '../memory/memory-manager.js';
import type { ColonyMemory } from './create-memory.js';
import type { ProviderRegistry } from '../providers/provider-registry.js';
import { createProviderRegistry } from './provider-factories.js';
import { createShellExecutor } from '../tasks/executors/shell-executor.js';
import { CommandSandbox, type SandboxStatus } from '../sandbox/command-sandbox.js';
import { DATABASE_FILE_SUFFIXES } from '../sandbox/sandbox-defaults.js';
import { resolve } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import { checkPoolNames } from '../domain/task.js';
import { TaskEngine } from '../tasks/task-engine.js';
import type { TaskExecutor } from '../tasks/task-executor.js';
import { TaskScheduler, type SchedulerScope } from '../tasks/task-scheduler.js';
import { TaskTransitions } from '../tasks/task-transitions.js';
import { createTaskQueue } from './create-task-queue.js';
import { LocalChangeNotifier } from '../adapters/notify/local-change-notifier.js';
import type { ChangeNotifier } from '../ports/change-notifier.js';
import { OrphanedProcessReaper } from '../tasks/orphaned-process-reaper.js';
import { TaskProcessRecorder } from '../tasks/task-process-recorder.js';
import { CONFIG_FILE_NAMES, databaseKind, loadConfig, type ColonyConfig, type ConfigInput } from './config.js';
import { DEFAULTS } from '../kernel/constants.js';
import type { EventBus } from '../ports/event-bus.js';
import { LocalEventBus } from '../kernel/local-event-bus.js';
import { createLogger, type Logger } from '../kernel/logger.js';
import { RunnerRegistry } from '../kernel/runner-registry.js';
import { LATEST_MIGRATION } from '../adapters/storage/sql/migration-latest.js';
import { liveCircuits, type LiveCircuit } from '../providers/live-circuits.js';
import type { ProviderCallSummary } from '../ports/model-call-ledger.js';
import { LIMIT_EVENTS_SCANNED, liveLimits, type LiveLimit } from './live-limits.js';
import { ApiKeys } from '../security/api-keys.js';
import { WorkflowRuns } from '../tasks/workflow-runs.js';
import { createMetricLog, type MetricLog } from './metric-log.js';
import { checkStoreHealth, type StoreHealth } from './store-health.js';
import { memoryStatus, type MemoryStatus } from './memory-status.js';
import { ToolRegistry } from '../agents/runtime/tools/custom-tools.js';
import { AgentTypeRegistry } from '../agents/catalog/code-agent-types.js';
import type { Tracer } from '../ports/tracer.js';
import { createTracer } from './create-tracer.js';
import type { McpServers } from '../ports/mcp-servers.js';
import { McpClientManager } from '../adapters/mcp-client/mcp-client-manager.js';
import { resolveMcpServers } from '../adapters/mcp-client/resolve-mcp-servers.js';
import { mcpToolNameProblems } from '../agents/runtime/mcp-tool-names.js';
import { mcpAgentTools } from '../agents/runtime/tools/mcp-tools.js';
import { packageVersion } from '../kernel/package-version.js';
import type { ModelCallTotals } from '../ports/metric-store.js';
import { readClaudeSettingsHooks } from '../hooks/claude-settings-hooks.js';
import { colonyHookDefinitions } from '../hooks/hook-definition.js';
import { HookRunner } from '../hooks/hook-runner.js';
import { HOOK_RUNS_SCANNED, hooksStatus, type HooksStatus } from '../hooks/hooks-status.js';
import { withTaskHooks } from '../hooks/task-hooks-executor.js';

export interface CreateColonyOptions {
  /** The project directory (workspace and default home of `.colony/`). Default: the current directory. */
  projectDir?: string;
  /** Configuration overrides, highest precedence. */
  config?: ConfigInput;
  /** An explicit config file; otherwise `<dataDir>/config.yaml` if present. */
  configFile?: string;
  /**
   * Environment to read COLONY_* and the providers' conventional variables (ANTHROPIC_API_KEY, ...)
   * from. Default: process.env; pass `{}` to ignore the environment.
   */
  env?: NodeJS.ProcessEnv;
  /** A store to use instead of the configured SQLite file. */
  store?: Store;
  /**
   * Wake-up hints between the processes sharing `store` (the colony does not close them). Default:
   * opened on the configured database (PostgreSQL LISTEN/NOTIFY; none on SQLite), or none with `store`.
   */
  changes?: ChangeNotifier;
  logger?: Logger;
  /** Where the colony's own logger writes (appended) instead of stderr; ignored with `logger`. */
  logFile?: string;
  /**
   * Traces (see src/ports/tracer.ts). Default: OpenTelemetry with an OTLP exporter when the standard
   * OTEL_* variables of `env` ask for it (closed with the colony), else none, at no cost.
   */
  tracer?: Tracer;
  /** What this process is, for `colony status`: `run`, `worker`, `server`, `library`. */
  kind?: string;
  /**
   * Whether `start()` runs tasks and coordinates swarms here. False: it only registers this process
   * (listed live, as `<kind> --no-work`) and the API it serves hands work to other processes, the
   * workers. Default: true.
   */
  work?: boolean;
  /**
   * The worker pools this process serves once started (`colony worker --pool`): it runs the tasks of
   * these pools and unpooled ones; processes of no pool never run a pooled task. Default: none.
   */
  pools?: readonly string[];
  now?: () => number;
  random?: () => number;
}

export interface StartOptions {
  scope?: SchedulerScope;
}

/**
 * The composition root: builds the whole engine from configuration. Nothing in Colony is a singleton;
 * two colonies in one process (as tests make) share nothing.
 */
export interface Colony {
  readonly config: ColonyConfig;
  readonly configFile: string | undefined;
  /** The store itself, for what the API does not offer; the CLI, REST and MCP servers never use it. */
  readonly store: Store;
  /** Publish and subscribe in this process; `events.list(query)` reads the persisted log of every process. */
  readonly events: EventBus;
  readonly agents: AgentManager;
  readonly tasks: TaskEngine;
  /**
   * The configured LLM providers (each created on first use), and those the program registers with
   * `providers.register(provider, { id, model, default })` (see docs/library-extensions.md).
   */
  readonly providers: ProviderRegistry;
  /** Tools the program registers (`tools.register({ name, description, input, execute })`); agent types select them by name. */
  readonly tools: ToolRegistry;
  /**
   * The MCP servers agents take tools from (the project's `.mcp.json` and `mcp.servers`): started on
   * first use, shared by this process's agents, stopped by `close()`; `status()` lists their state.
   */
  readonly mcp: McpServers;
  /** Agent types the program defines in code (`agentTypes.register({ name, description, systemPrompt, ... })`), validated like agent files. */
  readonly agentTypes: AgentTypeRegistry;
  /** Agent selection that learns from outcomes: a bandit over agent types per kind of task, fed by every finished agent task. */
  readonly selection: AdaptiveSelector;
  /** Swarms: an objective worked on by agents under a topology (see src/swarm/swarms.ts). */
  readonly swarms: Swarms;
  /** Votes: questions put to agents, proposals decided by custom voters, and their record (see src/consensus). */
  readonly consensus: ConsensusService;
  /**
   * The tiered memory (L1 in process, L2 Redis when `memory.redisUrl` is set, L3 the database),
   * created on first use so that commands which never touch memory never connect to Redis.
   */
  memory(): Promise<MemoryManager>;
  /** Which memory tiers answer now (a configured Redis that does not: `degraded`); opens no memory. Never throws. */
  memoryStatus(): Promise<MemoryStatus>;
  readonly runners: RunnerRegistry;
  /** Workflow runs (started with `runWorkflow`), by any process sharing the store. */
  readonly workflows: WorkflowRuns;
  /** Recorded metrics: model usage and cost per task (`llm.*`), agent task outcomes. */
  readonly metrics: MetricLog;
  /** The REST API's keys: create, list, revoke and verify them. */
  readonly apiKeys: ApiKeys;
  /** Where the store keeps its data, for status output (the database file path, for SQLite). */
  readonly storeLocation: string;
  /** Whether the store answers, and whether its schema is at the latest migration; never throws. */
  health(): Promise<StoreHealth>;
  /** The circuit breaker state of each provider in each live process, with its age and owner. */
  providerCircuits(): Promise<LiveCircuit[]>;
  /** Limits of live processes holding ready work back now (`tasks.concurrency`, a provider's `maxConcurrency`, ...). */
  limitsReached(): Promise<LiveLimit[]>;
  /**
   * The configured hooks (Colony's config, then Claude Code's settings files: what this process runs),
   * and how many of the newest runs recorded by any process failed, timed out or were refused.
   */
  hooksStatus(): Promise<HooksStatus>;
  /** Swarms' model calls per provider and model (since `since`, epoch ms): calls, failures, tokens, dollars, mean latency. */
  providerUsage(since?: number): Promise<ProviderCallSummary[]>;
  /** Every agent run's model calls (swarm or not, every process) per provider and model, from their `llm.*` metrics: calls, tokens, dollars. */
  modelCallTotals(since?: number): Promise<ModelCallTotals[]>;
  /** Where shell commands run: bubblewrap when it works here, else on the host (see `sandbox.status()`). */
  readonly sandbox: CommandSandbox;
  readonly logger: Logger;
  /** Spans of API requests, task attempts, agent turns, model and tool calls (a no-op one when tracing is off). */
  readonly tracer: Tracer;
  newId(kind: IdKind): string;
  now(): number;
  registerExecutor(executor: TaskExecutor): void;
  /** Registers this process as a runner, recovers crashed work, and starts running tasks. */
  start(options?: StartOptions): Promise<void>;
  /** Stops running tasks, draining in-flight ones up to the timeout; the colony can be started again. */
  stop(options?: { drainTimeoutMs?: number }): Promise<{ drained: boolean }>;
  /** Stops and closes the store. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

export async function createColony(options: CreateColonyOptions = {}): Promise<Colony> {
  const env = options.env ?? process.env;
  const { config, file: configFile } = loadConfig({
    projectDir: options.projectDir ?? process.cwd(),
    file: options.configFile,
    env,
    overrides: options.config,
  });
  // Checked before anything is opened: a bad name leaves nothing behind.
  const pools = checkPoolNames(options.pools ?? []);
  const mcpServerList = resolveMcpServers({ projectDir: config.projectDir, config: config.mcp, env });
  // Claude Code's settings hooks are read (and a bad file refused) before anything is opened too.
  const claudeHooks = config.hooks.claudeSettings ? readClaudeSettingsHooks(config.projectDir) : { hooks: [], notes: [] };
  const hookDefinitions = [...colonyHookDefinitions(config.hooks), ...claudeHooks.hooks];
  const ownsTracer = !options.tracer;
  const tracer = options.tracer ?? (await createTracer(env));
  // Log lines written while a span is current carry its trace_id and span_id.
  const logger = options.logger ?? createLogger(config.log.level, 'colony', options.logFile, tracer.enabled ? () => tracer.currentIds() : undefined);
  const now = options.now ?? Date.now;
  const newId = createIdGenerator();
  const ownsStore = !options.store;
  const store = options.store ?? (await openStore(config.database));
  try {
    await store.migrate();
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }

  let catalog: Promise<AgentCatalog> | null = null;
  const loadCatalog = (): Promise<AgentCatalog> => {
    catalog ??= (async () => {
      const { builtinAgentsDir, loadAgentCatalog } = await import('../agents/catalog/load-agent-catalog.js');
      const loaded = await loadAgentCatalog({ builtinDir: builtinAgentsDir(), projectDir: config.projectDir });
      for (const p of loaded.problems) logger.warn({ path: p.path }, `agent file skipped: ${p.message}`);
      // Runs of these types fail with the same sentence (see mcpAgentTools).
      for (const type of loaded.types.values()) for (const problem of mcpToolNameProblems(type.tools, mcp.names(), type.name)) logger.warn(problem);
      return loaded;
    })();
    return catalog;
  };
  // Agent types defined in code are the catalog's last layer, read on every lookup (registered any time).
  const agentTypes = new AgentTypeRegistry({ check: (definition) => mcpToolNameProblems(definition.tools, mcp.names(), definition.name) });
  const tools = new ToolRegistry();
  const catalogWithCode = async (): Promise<AgentCatalog> => {
    const loaded = await loadCatalog();
    return agentTypes.size === 0 ? loaded : { types: agentTypes.overlay(loaded.types), problems: loaded.problems };
  };

  // Other processes' work and events wake this one by these hints; polls only cover lost ones.
  const ownsChanges = !options.changes;
  const changes = options.changes ?? (ownsStore ? await openChangeNotifier(config.database, logger) : new LocalChangeNotifier({ logger }));
  const events: EventBus = new LocalEventBus({ persist: (batch) => store.events.append(batch), read: (query) => store.events.list(query), external: (listener) => changes.listen('events', listener), logger, bufferSize: DEFAULTS.subscriberBufferSize, now });
  const runners = new RunnerRegistry({
    store,
    id: `${newId('runner')}`,
    kind: options.kind ?? 'library',
    runsTasks: options.work ?? true,
    pools,
    heartbeatMs: DEFAULTS.runnerHeartbeatMs,
    // Liveness is judged by the store's clock, not `now`: hosts' clocks disagree.
    leaseMs: DEFAULTS.runnerLeaseMs,
  });
  // No MCP server starts here: each starts on the first agent run that needs its tools.
  const mcp = new McpClientManager({
    servers: mcpServerList,
    version: packageVersion(),
    logger,
    now,
    onStateChange: (status) => {
      if (status.state === 'starting') return;
      events.publish('mcp_server.state_changed', { server: status.name, state: status.state, reason: status.reason ?? null, runnerId: runners.id }, { source: 'mcp-client', correlationId: status.name });
    },
  });
  const agents = new AgentManager({ store, events, catalog: catalogWithCode, codeType: (name) => agentTypes.get(name), maxAgents: config.agents.maxAgents, newId, now });
  const executors = new Map<string, TaskExecutor>();
  // Swarms in a git repository give each task its own worktree and branch (see swarm-worktrees.ts).
  const git = createGitCli();
  const transitions = new TaskTransitions({ store, now });
  // The process groups tasks start are recorded while they run; recovery ends a dead runner's here.
  const processes = new TaskProcessRecorder({ store: store.taskProcesses, runnerId: runners.id, hostname: runners.host, logger, now });
  const orphans = new OrphanedProcessReaper({ store: store.taskProcesses, hostname: runners.host, logger });
  const scheduler = new TaskScheduler({
    store,
    transitions,
    events,
    // The store's batch claim, woken in process, by a poll and by other processes' hints.
    queue: createTaskQueue({ store, transitions, events, changes, pollIntervalMs: config.tasks.pollIntervalMs, now }),
    agents,
    runners,
    orphans,
    executors,
    logger,
    workspace: config.projectDir,
    concurrency: config.tasks.concurrency,
    defaultTimeoutMs: config.tasks.defaultTimeoutMs,
    retry: { baseDelayMs: config.tasks.retryBaseDelayMs, maxDelayMs: config.tasks.retryMaxDelayMs, jitter: config.tasks.retryJitter },
    pollIntervalMs: config.tasks.pollIntervalMs,
    now,
    random: options.random ?? Math.random,
    tracer,
  });
  const tasks = new TaskEngine({
    store,
    events,
    transitions,
    scheduler,
    executors,
    newId,
    now,
    defaultMaxRetries: config.tasks.defaultMaxRetries,
    pollIntervalMs: config.tasks.pollIntervalMs,
    tracer,
  });
  let started = false;
  // Said once, by a process that runs tasks, when it starts or later finds out (the probe runs on first use).
  let warnedUnconfined = false;
  const warnIfUnconfined = (isolation: SandboxStatus): void => {
    if (warnedUnconfined || !started || !runners.runsTasks || !isolation.degraded || isolation.mode === 'bwrap') return;
    warnedUnconfined = true;
    logger.warn({ sandbox: isolation }, `NO OS SANDBOX for shell commands: ${isolation.reason}`);
  };
  // Commands never see the database or the config file (keys, secrets), agents' not even the data directory.
  const sandbox = new CommandSandbox({
    config: config.sandbox,
    // Commands run on this host: PATH, HOME and locale come from this process's environment, whatever
    // environment the configuration was read from (`env: {}` only keeps COLONY_* settings out).
    env: process.env,
    hide: [
      ...(config.database.path === ':memory:' || databaseKind(config.database) !== 'sqlite' ? [] : DATABASE_FILE_SUFFIXES.map((suffix) => `${config.database.path}${suffix}`)),
      ...CONFIG_FILE_NAMES.map((name) => resolve(config.dataDir, name)),
      ...(configFile ? [configFile] : []),
    ],
    hideFromAgents: [config.dataDir],
    quarantineDir: resolve(config.dataDir, 'quarantine'),
    onDetected: warnIfUnconfined,
  });
  const shellPolicy = { ...(config.shell.allow ? { allow: config.shell.allow } : {}), ...(config.shell.deny ? { deny: config.shell.deny } : {}) };
  for (const note of claudeHooks.notes) logger.warn(note);
  // Hooks run as an agent's commands do: its sandbox, environment allow-list and command policy.
  const hooks = new HookRunner({ hooks: hookDefinitions, sandbox, policy: shellPolicy, events, processes, logger });
  const registerExecutor = (executor: TaskExecutor): void => tasks.registerExecutor(withTaskHooks(executor, hooks));
  registerExecutor(
    createShellExecutor({
      maxOutputBytes: config.shell.maxOutputBytes,
      defaultTimeoutMs: config.shell.timeoutMs,
      workspace: config.projectDir,
      sandbox,
      processes,
      concurrency: config.tasks.shellConcurrency,
    }),
  );

  const providers = createProviderRegistry(config, env, (event) => {
    if (event.type === 'breaker') {
      events.publish('provider.state_changed', { provider: event.provider, state: event.state }, { source: 'providers', correlationId: event.provider });
      // Other processes read breaker states from the store, owned by this runner (shown while it lives).
      store.circuits
        .report({ runnerId: runners.id, provider: event.provider, state: event.state, changedAt: now() })
        .catch((error: unknown) => logger.warn({ err: error, provider: event.provider }, 'could not record the provider circuit state'));
    } else if (event.type === 'limit') {
      events.publish(
        event.reached ? 'limit.reached' : 'limit.cleared',
        { limit: `providers.${event.provider}.maxConcurrency`, value: event.maxConcurrency, runnerId: runners.id, provider: event.provider },
        { source: 'providers', correlationId: runners.id },
      );
    } else {
      events.publish(
        'provider.retried',
        { provider: event.provider, attempt: event.attempt, delayMs: event.delayMs, error: event.error.message },
        { source: 'providers', correlationId: event.provider },
      );
    }
  }, tracer);
  const consensus = new ConsensusService({ store, events, agents, provider: (id, model) => providers.get(id, model), logger, newId, now });
  registerExecutor(
    createAgentExecutor({
      store,
      events,
      tracer,
      git,
      resolveProvider: (id, hints) => providers.forAgentTask(id, hints),
      agentType: (name) => agents.type(name),
      limits: { maxTurns: config.agents.maxTurns, maxTokens: config.agents.maxTokensPerTask },
      shell: {
        timeoutMs: config.shell.timeoutMs,
        maxOutputBytes: config.shell.maxOutputBytes,
        policy: shellPolicy,
        sandbox,
        processes,
      },
      submitSubtask: async (request) => {
        const parent = await store.tasks.get(request.parentId);
        const [child] = await tasks.submit([agentSubtaskSpec(request)], { workflowId: parent?.workflowId ?? null, swarmId: parent?.swarmId ?? null });
        return { id: (child as { id: string }).id };
      },
      // Relevant memories go into each agent's first message; the memory tools work on the same memory.
      context: (task) => memoryContext(task, { memory: agentMemory, limit: config.memory.contextMemories, logger }),
      memory: () => agentMemory(),
      // An agent task whose input asks for consensus counts as done only when voters accept its result.
      review: (request) => reviewTaskResult(consensus, request),
      now,
      newId,
      providerIds: () => providers.ids(),
      customTools: () => tools.list(),
      mcpTools: (agentType, signal) => mcpAgentTools({ declared: agentType.tools, agentType: agentType.name, servers: mcp, signal, logger }),
      hooks,
    }),
  );

  const selection = new AdaptiveSelector({ store, random: options.random ?? Math.random, now });
  recordAgentTaskOutcomes({ events, store, selector: selection, logger });

  const swarms = new SwarmCoordinator({
    store,
    events,
    agents,
    tasks,
    logger,
    runners,
    newId,
    now,
    provider: (id, model) => providers.get(id ?? undefined, model ?? undefined),
    chooseType: (candidates, kind) => selection.chooseWithReasons(candidates, kind),
    vote: peerReviewVote(consensus),
    tracer,
    // Swarm hooks run in the project directory; they report, there is no step left to block.
    swarmEnded: (swarm) =>
      hooks.run('swarmEnded', { workspace: config.projectDir, swarmId: swarm.id, input: { swarm_status: swarm.status } }).then(
        () => undefined,
        (error: unknown) => logger.warn({ err: error, swarmId: swarm.id }, 'swarmEnded hooks could not run'),
      ),
    git,
    workspace: config.projectDir,
  });

  // An agent terminated anywhere in this process stops its tasks here; they are retried elsewhere.
  events.subscribe({ types: ['agent.terminated'] }, (event) => {
    scheduler.abortAgentTasks(event.data.agentId);
  });

  let memory: Promise<ColonyMemory> | null = null;
  const openMemory = async (): Promise<MemoryManager> => {
    memory ??= (async () => {
      const { createMemoryManager } = await import('./create-memory.js');
      return createMemoryManager({ config, store, events, logger, env, now });
    })();
    return (await memory).manager;
  };
  // Agents run without memory (and say so in the log) rather than fail when it cannot be opened.
  const agentMemory = async (): Promise<MemoryManager | undefined> => {
    try {
      return await openMemory();
    } catch (error) {
      logger.warn({ err: error }, 'memory is unavailable: agents run without memories and memory tools');
      return undefined;
    }
  };

  let stopping: Promise<{ drained: boolean }> | null = null;
  let closed = false;
  const colony: Colony = {
    config,
    configFile,
    store,
    events,
    agents,
    tasks,
    providers,
    tools,
    mcp,
    agentTypes,
    selection,
    swarms,
    consensus,
    memory: openMemory,
    memoryStatus: () => memoryStatus({ redisUrl: config.memory.redisUrl, opened: memory, logger }),
    runners,
    workflows: new WorkflowRuns({ store }),
    metrics: createMetricLog(store),
    apiKeys: new ApiKeys({ store, now }),
    storeLocation: store.location,
    // The SQL adapters' newest migration: every store Colony ships migrates to it.
    health: () => checkStoreHealth(store, LATEST_MIGRATION),
    async providerCircuits() {
      // Each process reports its breakers to the store; only those of live processes still hold.
      const [records, live] = await Promise.all([store.circuits.list(), runners.liveRunners()]);
      return liveCircuits(records, live, now());
    },
    async limitsReached() {
      const [limitEvents, live] = await Promise.all([
        store.events.list({ types: ['limit.reached', 'limit.cleared'], newestFirst: true, limit: LIMIT_EVENTS_SCANNED }),
        runners.liveRunners(),
      ]);
      return liveLimits(limitEvents, live, now());
    },
    async hooksStatus() {
      const runs = await store.events.list({ types: ['hook.ran'], newestFirst: true, limit: HOOK_RUNS_SCANNED });
      return hooksStatus(hookDefinitions, runs);
    },
    providerUsage: (since) => store.modelCalls.providerUsage(since),
    modelCallTotals: (since) => store.metrics.modelCallTotals(since),
    sandbox,
    logger,
    tracer,
    newId,
    now,
    registerExecutor,
    async start(startOptions = {}) {
      if (started) return;
      // A process that only serves runs no command: the sandbox is the workers' concern. In `auto` mode
      // bubblewrap is probed on first use (a command, a status query), not here: a program whose agents
      // run no command never pays for it. `bwrap` mode probes now (`off` needs no probe).
      const isolation = !runners.runsTasks ? null : config.sandbox.mode === 'auto' ? await sandbox.detected() : await sandbox.status();
      // sandbox.mode: bwrap is a requirement, not a wish: refuse to run commands unconfined.
      if (isolation?.degraded && isolation.mode === 'bwrap') throw new ConfigError(`sandbox.mode is bwrap, but ${isolation.reason ?? 'bubblewrap is unavailable'}`);
      if (started) return;
      started = true;
      if (isolation) warnIfUnconfined(isolation);
      await runners.register();
      events.publish('colony.started', { runnerId: runners.id, pid: process.pid }, { source: 'colony', correlationId: runners.id });
      // Serving only (`up --no-work`): listed as live, but the workers run the tasks and swarms.
      if (!runners.runsTasks) return;
      await scheduler.start(startOptions.scope ?? {});
      const scope = startOptions.scope ?? {};
      await swarms.start(scope.swarmId !== undefined ? { only: scope.swarmId } : { none: scope.workflowId !== undefined || scope.taskIds !== undefined });
    },
    async stop(stopOptions = {}) {
      if (stopping) {
        // Already draining: a second stop asks to stop now.
        if (stopOptions.drainTimeoutMs === 0) await scheduler.stop(0);
        return stopping;
      }
      if (!started) return { drained: true };
      stopping = (async () => {
        // Swarms are left as they are (not stopped): this or another process resumes them.
        await swarms.shutdown();
        const result = await scheduler.stop(stopOptions.drainTimeoutMs ?? config.tasks.drainTimeoutMs);
        // Attempts cut off by the drain were queued again, with no event: runners elsewhere take them now.
        if (!result.drained) changes.notify('tasks');
        events.publish('colony.stopped', { runnerId: runners.id, drained: result.drained }, { source: 'colony', correlationId: runners.id });
        await events.flush();
        await runners.unregister();
        return result;
      })();
      try {
        return await stopping;
      } finally {
        started = false;
        stopping = null;
      }
    },
    async close(closeOptions = {}) {
      if (closed) return;
      await colony.stop(closeOptions);
      // After the drain (a draining task may be waiting for its review): what still runs is cancelled.
      await consensus.close();
      // No server process outlives the colony.
      await mcp.close();
      await events.flush();
      closed = true;
      if (memory) await (await memory).close();
      if (ownsChanges) await changes.close();
      if (ownsStore) await store.close();
      // Last: the spans of everything above are exported before the process goes.
      if (ownsTracer) await tracer.shutdown();
    },
  };

  return colony;
}
