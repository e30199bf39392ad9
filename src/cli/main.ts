import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { defaultCommandHelp } from './default-command-help.js';
import { unsupportedNodeMessage } from '../kernel/node-version.js';
import { ConfigError, isErrorCode } from '../domain/errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { intOption, jsonOption, listOption, poolsOption } from './parse-options.js';

/**
 * The `colony` command. Each command's implementation is imported only when it runs, so that
 * `colony --help` starts about as fast as Node itself.
 */
function buildProgram(outcome: { code: number }, json: boolean): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('colony')
    .description('Colony: multi-agent orchestration. Runs task DAGs, agents and workflows on an embedded SQLite store.')
    .version(pkg.version, '-v, --version')
    .option('--project <dir>', 'project directory (default: the current directory)')
    .option('--db <path|url>', 'database file or URL, e.g. sqlite:data/colony.db (default: .colony/colony.db in the project)')
    .option('--config <file>', 'config file (default: .colony/config.yaml if present)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--json', 'print machine-readable JSON on stdout')
    .showHelpAfterError('(run with --help for usage)')
    // With --json a usage error is reported as JSON on stdout (see `report`), not as commander's text.
    .configureOutput({ outputError: (text, write) => (json ? undefined : write(text)) })
    .exitOverride();
  // Options arrive untyped from commander; each command validates what it uses.
  const g = (cmd: Command) => cmd.optsWithGlobals() as never;
  // Commands that have an outcome (a workflow, a waited-for task) return their exit code.
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) =>
    async (...args: A) => {
      const code = await fn(...args);
      if (typeof code === 'number') outcome.code = code;
    };

  program
    .command('init')
    .description('create .colony/ (config, agents folder, database) in the project')
    .option('--force', 'replace existing files, keeping a timestamped backup of each')
    .action(act(async (_o, cmd: Command) => (await import('./commands/init.js')).initCommand(g(cmd))));

  program
    .command('status')
    .description('show live processes (role, host, pid, pools, heartbeat), task and agent counts, and the database')
    .action(act(async (_o, cmd: Command) => (await import('./commands/status.js')).statusCommand(g(cmd))));

  program
    .command('run <workflow>')
    .description('run a YAML workflow of tasks with dependencies, in parallel, with live progress (re-run to resume)')
    .option('-c, --concurrency <n>', 'tasks at once', intOption('--concurrency', 1, 10_000))
    .option('--fresh', 'start a new run even if an unfinished run of this workflow exists')
    .option('-q, --quiet', 'no progress display')
    .action(act(async (file: string, _o, cmd: Command) => (await import('./commands/run.js')).runCommand(file, g(cmd))));

  program
    .command('worker')
    .description('run queued tasks (and coordinate swarms) in the foreground until interrupted; any number, on any host reaching the database')
    .option('-c, --concurrency <n>', 'tasks at once', intOption('--concurrency', 1, 10_000))
    .option('--until-idle', 'exit when no task is left to run')
    .option('--pool <names>', 'serve these worker pools (repeatable or comma-separated): run their tasks as well as unpooled ones', poolsOption('--pool'))
    .action(act(async (_o, cmd: Command) => (await import('./commands/worker.js')).workerCommand(g(cmd))));

  const agent = program.command('agent').description('spawn, list, inspect, pause, resume and terminate agents');
  agent
    .command('spawn <type>')
    .description('spawn an agent of a catalog type (see `colony agent types`)')
    .option('--name <name>', 'a name for the agent')
    .option('--capability <list>', 'extra capabilities, comma-separated', listOption)
    .action(act(async (type: string, _o, cmd: Command) => (await import('./commands/agent.js')).agentSpawnCommand(type, g(cmd))));
  agent
    .command('list')
    .description('list agents (terminated ones with --all)')
    .option('--status <status>', 'only agents with this status')
    .option('--type <type>', 'only agents of this type')
    .option('--all', 'include terminated agents')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 100_000), 100)
    .action(act(async (_o, cmd: Command) => (await import('./commands/agent.js')).agentListCommand(g(cmd))));
  // An agent is named by its id, a unique prefix of its id, or its name.
  agent
    .command('show <agent>')
    .description('show an agent with its health and track record (by id, unique id prefix or name)')
    .action(act(async (ref: string, _o, cmd: Command) => (await import('./commands/agent.js')).agentShowCommand(ref, g(cmd))));
  agent
    .command('terminate <agent>')
    .description('terminate an agent (by id, unique id prefix or name); its running tasks are retried on another agent')
    .option('--reason <text>', 'why, for the record')
    .action(act(async (ref: string, _o, cmd: Command) => (await import('./commands/agent.js')).agentTerminateCommand(ref, g(cmd))));
  agent
    .command('pause <agent>')
    .description('pause an agent (by id, unique id prefix or name): it takes no new tasks; running ones finish')
    .action(act(async (ref: string, _o, cmd: Command) => (await import('./commands/agent.js')).agentSetStatusCommand('pause', ref, g(cmd))));
  agent
    .command('resume <agent>')
    .description('resume a paused agent (by id, unique id prefix or name), clearing an unhealthy mark')
    .action(act(async (ref: string, _o, cmd: Command) => (await import('./commands/agent.js')).agentSetStatusCommand('resume', ref, g(cmd))));
  agent
    .command('run <type> <task...>')
    .description('run an agent of a catalog type on a task in this process, streaming its work (exit 1 if it fails)')
    .option('--provider <id>', 'anthropic, openai or claude-code (default: agents.defaultProvider)')
    .option('--model <model>', 'model name (default: the provider\'s configured model)')
    .option('--max-turns <n>', 'model turns at most', intOption('--max-turns', 1, 10_000))
    .option('--max-tokens <n>', 'token budget for the task', intOption('--max-tokens', 1, 100_000_000))
    .option('--retries <n>', 'retries after a failed attempt', intOption('--retries', 0, 100), 0)
    .action(act(async (type: string, words: string[], _o, cmd: Command) => (await import('./commands/agent-run.js')).agentRunCommand(type, words, g(cmd))));
  agent
    .command('types')
    .description('list the agent types in the catalog (built-in, .claude/agents, .colony/agents)')
    .option('--capability <list>', 'only types with these capabilities', listOption)
    .action(act(async (_o, cmd: Command) => (await import('./commands/agent.js')).agentTypesCommand(g(cmd))));
  agent
    .command('stats')
    .description('what adaptive agent selection has learnt: runs, success rate, latency and cost per task kind and agent type')
    .option('--kind <kind>', 'only this kind of task (an agent task input\'s `kind`; default kind: general)')
    .action(act(async (_o, cmd: Command) => (await import('./commands/agent.js')).agentStatsCommand(g(cmd))));

  const task = program.command('task').description('create, list, inspect, change, cancel and retry tasks');
  task
    .command('create')
    .description('create a task (a shell command by default)')
    .option('--type <type>', 'task type', 'shell')
    .option('--command <cmd>', 'the shell command (for --type shell)')
    .option('--input <json>', 'task input as JSON', jsonOption('--input'))
    .option('--name <name>', 'a short name')
    .option('--description <text>', 'what the task is for')
    .option('--priority <p>', 'low, normal, high, critical, or 0-1000')
    .option('--depends-on <ids>', 'ids of tasks it waits for, comma-separated', listOption)
    .option('--parent <id>', 'parent task id')
    .option('--timeout <duration>', 'e.g. 30s, 5m')
    .option('--retries <n>', 'retries after a failed attempt', intOption('--retries', 0, 100))
    .option('--capability <list>', 'run on an agent with these capabilities', listOption)
    .option('--agent-type <type>', 'run on an agent of this type')
    .option('--pool <name>', 'only workers of this pool run it (`colony worker --pool <name>`)', poolsOption('--pool'))
    .option('--wait', 'run it in this process and wait for the result')
    .action(act(async (_o, cmd: Command) => (await import('./commands/task.js')).taskCreateCommand(g(cmd))));
  task
    .command('list')
    .description('list tasks')
    .option('--status <list>', 'only these statuses, comma-separated', listOption)
    .option('--type <type>', 'only this type')
    .option('--workflow <id>', 'only this workflow run')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 100_000), 100)
    .option('--offset <n>', 'skip this many', intOption('--offset', 0, 10_000_000), 0)
    .action(act(async (_o, cmd: Command) => (await import('./commands/task.js')).taskListCommand(g(cmd))));
  task
    .command('show <id>')
    .description('show a task with its result or error (a unique id prefix is enough)')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/task.js')).taskShowCommand(id, g(cmd))));
  task
    .command('cancel <id>')
    .description('cancel a task and every task that depends on it')
    .option('--reason <text>', 'why, for the record')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/task.js')).taskCancelCommand(id, g(cmd))));
  task
    .command('update <id>')
    .description('change a pending or queued task: its priority, the agent it must run on, or its worker pool')
    .option('--priority <p>', 'low, normal, high, critical, or 0-1000')
    .option('--agent <agent>', 'run it on this agent only (its id, a unique id prefix or its name)')
    .option('--any-agent', 'lift the pin: any suitable agent may run it')
    .option('--pool <name>', 'only workers of this pool run it', poolsOption('--pool'))
    .option('--any-pool', 'lift the pool: any runner of unpooled work may run it')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/task.js')).taskUpdateCommand(id, g(cmd))));
  task
    .command('retry <id>')
    .description('run a failed or cancelled task again (its cancelled dependents wait for it again)')
    .option('--wait', 'run it in this process and wait for the result')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/task.js')).taskRetryCommand(id, g(cmd))));

  task
    .command('transcript <id>')
    .description('show an agent task\'s transcript: every model turn, tool call and result, with usage')
    .option('--attempt <n>', 'only this attempt', intOption('--attempt', 1, 1_000))
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/transcript.js')).taskTranscriptCommand(id, g(cmd))));

  // `colony swarm "<objective>"` runs `swarm start` (the default subcommand); the others manage swarms.
  const swarm = program
    .command('swarm')
    .description('swarms: agents that plan and work on an objective together under a topology')
    .usage('"<objective>" [options] | <command>');
  const swarmStart = swarm
    .command('start [objective...]', { isDefault: true })
    .description('create a swarm and run it in this process with a live view of its plan, agents and votes (exit 0 completed, 1 failed, 6 stopped; Ctrl-C stops it, keeping finished work, exit 130)')
    .option('--objective <text>', 'the objective as one option, taken as it is (even a single word like "init")')
    .option('--name <name>', 'a name for the swarm')
    .option('--topology <topology>', 'centralized (default), mesh, hierarchical or distributed')
    .option('--agents <n>', 'workers, chosen from the objective', intOption('--agents', 1, 1_000))
    .option('--roster <list>', 'workers by type, e.g. coder=2,tester=1 (coder@eu=2 for a pool)', listOption)
    .option('--pools <list>', 'distributed: workers per pool, e.g. eu=2,us=2', listOption)
    .option('--provider <id>', 'anthropic, openai or claude-code (default: agents.defaultProvider)')
    .option('--model <model>', 'model name (default: the provider\'s configured model)')
    .option('--max-agents <n>', 'agents at most', intOption('--max-agents', 1, 1_000))
    .option('--max-tokens <n>', 'token budget over every model call of the swarm', intOption('--max-tokens', 1, 1_000_000_000))
    .option('--max-cost <usd>', 'cost budget in US dollars')
    .option('--deadline <duration>', 'finish within this long, e.g. 30m')
    .option('-c, --concurrency <n>', 'worker tasks at once', intOption('--concurrency', 1, 1_000))
    .option('--review', 'have results reviewed (the queen, or peers voting in a mesh)')
    .option('--no-review', 'take results without review')
    .option('--no-worktrees', 'in a git repository, edit the checkout itself rather than a worktree and branch per task')
    .option('--plan <file>', 'run this plan (YAML or JSON: summary, tasks with id, title, prompt, dependsOn) instead of asking the planner')
    .option('-q, --quiet', 'no live view')
    .action(act(async (words: string[], _o, cmd: Command) => (await import('./commands/swarm.js')).swarmStartCommand(words, g(cmd))));
  swarm.addHelpText('after', () => defaultCommandHelp('swarm', swarmStart, '"<objective>"'));
  swarm
    .command('list')
    .description('list swarms, newest first')
    .option('--status <list>', 'only these statuses, comma-separated', listOption)
    .option('--topology <topology>', 'only this topology')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 100_000), 100)
    .option('--offset <n>', 'skip this many', intOption('--offset', 0, 10_000_000), 0)
    .action(act(async (_o, cmd: Command) => (await import('./commands/swarm.js')).swarmListCommand(g(cmd))));
  swarm
    .command('status <id>')
    .description('a swarm\'s plan tasks, agents, votes, usage and result (a unique id prefix is enough)')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/swarm.js')).swarmStatusCommand(id, g(cmd))));
  swarm
    .command('diff <id>')
    .description('what a swarm changed in its git repository: the patch from its base to its branch')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/swarm.js')).swarmDiffCommand(id, g(cmd))));
  for (const [action, what] of [
    ['pause', 'pause a swarm: no new tasks are dispatched; running ones finish'],
    ['resume', 'resume a paused swarm'],
    ['stop', 'stop a swarm: unfinished tasks are cancelled, finished work is kept as a partial result'],
  ] as const) {
    const control = swarm
      .command(`${action} <id>`)
      .description(what)
      .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/swarm.js')).swarmControlCommand(action, id, g(cmd))));
    if (action === 'stop') control.option('--reason <text>', 'why, for the record');
  }

  // `colony consensus "<question>"` runs `consensus ask` (the default subcommand).
  const consensus = program
    .command('consensus')
    .description('votes: put a question to agents, who decide it by a voting strategy with Byzantine voters screened out')
    .usage('"<question>" [options] | <command>');
  const consensusAsk = consensus
    .command('ask <question...>', { isDefault: true })
    .description('put a question to agents and show their votes as they arrive (exit 0 accepted, 7 no decision, 8 rejected)')
    .option('--options <list>', 'the choices, comma-separated (default: approve,reject)', listOption)
    .option('--context <text>', 'what the voters should know: evidence, a result to judge')
    .option('--voters <n>', 'agents to spawn for the vote (default 3)', intOption('--voters', 1, 50))
    .option('--type <type>', 'agent type of the spawned voters (default consensus-voter)')
    .option('--agents <ids>', 'existing agents to vote instead, comma-separated', listOption)
    .option('--strategy <strategy>', 'majority, supermajority (default), weighted, quorum or multi-round')
    .option('--threshold <share>', 'share a decision needs, e.g. 0.67 (default: 0.5, or 2/3 for supermajority and multi-round)')
    .option('--quorum <share>', 'share of voters that must vote (quorum strategy; default 0.51)')
    .option('--timeout <duration>', 'time voters have per round, e.g. 30s (default 30s)')
    .option('--rounds <n>', 'rounds at most (multi-round; default 3)', intOption('--rounds', 1, 10))
    .option('--provider <id>', 'anthropic, openai or claude-code (default: agents.defaultProvider)')
    .option('--model <model>', 'model name (default: the provider\'s configured model)')
    .action(act(async (words: string[], _o, cmd: Command) => (await import('./commands/consensus.js')).consensusAskCommand(words, g(cmd))));
  consensus.addHelpText('after', () => defaultCommandHelp('consensus', consensusAsk, '"<question>"'));
  consensus
    .command('list')
    .description('list proposals, newest first')
    .option('--status <list>', 'only these statuses, comma-separated', listOption)
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 100_000), 100)
    .option('--offset <n>', 'skip this many', intOption('--offset', 0, 10_000_000), 0)
    .action(act(async (_o, cmd: Command) => (await import('./commands/consensus.js')).consensusListCommand(g(cmd))));
  consensus
    .command('show <id>')
    .description('a proposal with its rounds, votes (counted and excluded) and flagged voters (a unique id prefix is enough)')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/consensus.js')).consensusShowCommand(id, g(cmd))));

  const providers = program.command('providers').description('LLM providers: anthropic, openai (any OpenAI-compatible server), claude-code');
  providers
    .command('list')
    .description('list configured providers (whether a key is set, never the key)')
    .action(act(async (_o, cmd: Command) => (await import('./commands/providers.js')).providersListCommand(g(cmd))));
  providers
    .command('test [id]')
    .description('send one small completion to a provider and report latency and usage (exit 1 if it fails)')
    .option('--model <model>', 'model to test (default: the configured one)')
    .action(act(async (id: string | undefined, _o, cmd: Command) => (await import('./commands/providers.js')).providersTestCommand(id, g(cmd))));

  program
    .command('events')
    .description('list recorded events, oldest first (--newest: newest first)')
    .option('--type <list>', 'only these types (task.* style prefixes allowed for listing: exact types)', listOption)
    .option('--correlation <id>', 'only events of this workflow, task or agent')
    .option('--after <id>', 'only events after this event id', intOption('--after', 0, Number.MAX_SAFE_INTEGER))
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 100_000), 100)
    .option('--newest', 'the newest events first (the last --limit of them)')
    .action(act(async (_o, cmd: Command) => (await import('./commands/events.js')).eventsCommand(g(cmd))));

  program
    .command('up')
    .description('start the REST API, WebSocket event stream and docs, with the engine running tasks (not with --no-work), until interrupted')
    .option('--host <host>', 'address to listen on (default: server.host, 127.0.0.1; elsewhere needs auth set up)')
    .option('--port <n>', 'port to listen on (default: server.port, 3000; 0 picks a free one)', intOption('--port', 0, 65_535))
    .option('-c, --concurrency <n>', 'tasks at once', intOption('--concurrency', 1, 10_000))
    .option('--no-work', 'serve only: run no tasks and coordinate no swarms here (`colony worker` processes do)')
    .option('--pool <names>', 'serve these worker pools too (repeatable or comma-separated)', poolsOption('--pool'))
    .action(act(async (_o, cmd: Command) => (await import('./commands/up.js')).upCommand(g(cmd))));

  program
    .command('mcp')
    .description('serve MCP on stdin/stdout for Claude Code and other MCP clients (`claude mcp add colony -- colony mcp`), running tasks in this process')
    .action(act(async (_o, cmd: Command) => (await import('./commands/mcp.js')).mcpCommand(g(cmd))));

  const keys = program.command('keys').description('API keys for the REST API (stored hashed; a key is shown only when created)');
  keys
    .command('create')
    .description('create an API key and print it (once)')
    .addOption(new Option('--role <role>', 'what the key may do').choices(['admin', 'operator', 'viewer']).makeOptionMandatory())
    .option('--name <name>', 'a name to recognise it by')
    .action(act(async (_o, cmd: Command) => (await import('./commands/keys.js')).keysCreateCommand(g(cmd))));
  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--all', 'include revoked keys')
    .action(act(async (_o, cmd: Command) => (await import('./commands/keys.js')).keysListCommand(g(cmd))));
  keys
    .command('revoke <id>')
    .description('revoke an API key (a running server refuses it at once)')
    .action(act(async (id: string, _o, cmd: Command) => (await import('./commands/keys.js')).keysRevokeCommand(id, g(cmd))));

  const memory = program.command('memory').description('the tiered memory agents share: store, read, search, export and import entries');
  const namespaceOption = (what: string) => new Option('--namespace <ns>', what);
  memory
    .command('store <key> [value]')
    .description('store a value under a key, replacing what was there (the value is JSON if it parses as JSON, else text)')
    .addOption(namespaceOption('namespace (default: default)'))
    .option('--file <path>', 'read the value from a file (- for stdin) instead of the argument')
    .option('--ttl <seconds>', 'forget it after this many seconds')
    .option('--tags <list>', 'tags, comma-separated', listOption)
    .option('--expect-version <n>', 'only if the stored version is this one (0: only if it does not exist yet); exit 4 otherwise', intOption('--expect-version', 0, Number.MAX_SAFE_INTEGER))
    .action(act(async (key: string, value: string | undefined, _o, cmd: Command) => (await import('./commands/memory.js')).memoryStoreCommand(key, value, g(cmd))));
  memory
    .command('get <key>')
    .description('show an entry (exit 3 if it does not exist or has expired)')
    .addOption(namespaceOption('namespace (default: default)'))
    .action(act(async (key: string, _o, cmd: Command) => (await import('./commands/memory.js')).memoryGetCommand(key, g(cmd))));
  memory
    .command('delete <key>')
    .description('delete an entry (exit 3 if it does not exist)')
    .addOption(namespaceOption('namespace (default: default)'))
    .option('--expect-version <n>', 'only if the stored version is this one; exit 4 otherwise', intOption('--expect-version', 1, Number.MAX_SAFE_INTEGER))
    .action(act(async (key: string, _o, cmd: Command) => (await import('./commands/memory.js')).memoryDeleteCommand(key, g(cmd))));
  memory
    .command('list')
    .description('list live entries, ordered by namespace then key')
    .addOption(namespaceOption('only this namespace (default: all)'))
    .option('--prefix <prefix>', 'only keys starting with this')
    .option('--tags <list>', 'only entries with all these tags, comma-separated', listOption)
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 1_000_000), 100)
    .option('--offset <n>', 'skip this many', intOption('--offset', 0, Number.MAX_SAFE_INTEGER), 0)
    .action(act(async (_o, cmd: Command) => (await import('./commands/memory.js')).memoryListCommand(g(cmd))));
  memory
    .command('search <query>')
    .description('search entries: keyword (BM25), semantic (the embedder) or hybrid (both, fused); says which embedder answered')
    .addOption(namespaceOption('only this namespace (default: all)'))
    .addOption(new Option('--mode <mode>', 'how to search').choices(['keyword', 'semantic', 'hybrid']).default('hybrid'))
    .option('--tags <list>', 'only entries with all these tags, comma-separated', listOption)
    .option('--limit <n>', 'at most this many results', intOption('--limit', 1, 1_000), 10)
    .action(act(async (query: string, _o, cmd: Command) => (await import('./commands/memory.js')).memorySearchCommand(query, g(cmd))));
  memory
    .command('export <file>')
    .description('write entries as JSON Lines, every field (- for stdout)')
    .addOption(namespaceOption('only this namespace (default: all)'))
    .option('--prefix <prefix>', 'only keys starting with this')
    .option('--tags <list>', 'only entries with all these tags, comma-separated', listOption)
    .action(act(async (file: string, _o, cmd: Command) => (await import('./commands/memory.js')).memoryExportCommand(file, g(cmd))));
  memory
    .command('import <file>')
    .description('read entries from JSON Lines (- for stdin); any bad line refuses the whole import, naming the line')
    .option('--overwrite', 'replace entries that exist (default: keep them)')
    .action(act(async (file: string, _o, cmd: Command) => (await import('./commands/memory.js')).memoryImportCommand(file, g(cmd))));
  memory
    .command('stats')
    .description('entries, namespaces, storage, embedder, and the state of each tier (Redis included)')
    .action(act(async (_o, cmd: Command) => (await import('./commands/memory.js')).memoryStatsCommand(g(cmd))));
  memory
    .command('gc')
    .description('remove expired entries now (a running colony does it every memory.gcIntervalMs)')
    .action(act(async (_o, cmd: Command) => (await import('./commands/memory.js')).memoryGcCommand(g(cmd))));

  const config = program.command('config').description('configuration');
  config
    .command('show')
    .description('show the effective configuration and where it came from')
    .action(act(async (_o, cmd: Command) => (await import('./commands/config.js')).configShowCommand(g(cmd))));

  const db = program.command('db').description('the database itself: its schema version, migrations, and copying a project into another database');
  db
    .command('status')
    .description('show the database (kind, location), its schema version, the latest, and pending migrations; changes nothing')
    .action(act(async (_o, cmd: Command) => (await import('./commands/db.js')).dbStatusCommand(g(cmd))));
  db
    .command('migrate')
    .description('apply pending migrations (any command does it on opening; this one reports the schema version before and after)')
    .action(act(async (_o, cmd: Command) => (await import('./commands/db.js')).dbMigrateCommand(g(cmd))));
  db
    .command('copy')
    .description('copy this project\'s database (--db, database.url, or the SQLite file) into an empty one, e.g. PostgreSQL for team mode, and check the copy')
    .addHelpText(
      'after',
      '\nMigrates the target to the latest schema, copies every table in one transaction\n' +
        '(all or nothing) keeping ids, moves the target\'s id sequences past them, and\n' +
        'rebuilds the keyword index and vectors there. Then compares row counts per table\n' +
        'and a sample of rows field by field (exit 5 if anything differs). Refuses,\n' +
        'changing nothing (exit 4), when the target holds Colony rows, and while tasks\n' +
        'run or Colony processes are live on the source.',
    )
    .requiredOption('--to <url>', 'the target database: postgres://user@host:5432/db (?options=-csearch_path%3Dschema for a schema) or sqlite:<file>')
    .option('--force', 'copy even while tasks run or processes are live on the source (what they write afterwards is not copied; running tasks run again on the target once their processes have ended)')
    .option('--batch-size <n>', 'rows per read and per insert (default 500)', intOption('--batch-size', 1, 10_000))
    .option('--sample <n>', 'rows per table compared field by field after the copy (default 25; 0: counts only)', intOption('--sample', 0, 1_000_000))
    .option('-q, --quiet', 'no progress on stderr')
    .action(act(async (_o, cmd: Command) => (await import('./commands/db.js')).dbCopyCommand(g(cmd))));

  return program;
}

async function main(argv: string[]): Promise<number> {
  const outcome = { code: EXIT.ok as number };
  const json = argv.includes('--json');
  // Commands load their modules when they run; on an old Node the first one needing node:sqlite would fail with a stack.
  const unsupported = unsupportedNodeMessage();
  if (unsupported !== null) return report(new ConfigError(unsupported), json);
  const program = buildProgram(outcome, json);
  try {
    await program.parseAsync(argv);
    return outcome.code;
  } catch (error) {
    return report(error, json);
  }
}

function report(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; they already printed.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    if (error.exitCode === 0) return EXIT.ok;
    const cause = (error as { cause?: unknown }).cause ?? (error as { nestedError?: unknown }).nestedError;
    if (cause && typeof cause === 'object' && 'code' in cause) return report(cause, json);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'validation', message: error.message.replace(/^error: /, '') } }, null, 2)}\n`);
    return EXIT.usage;
  }
  const e = error as { code?: unknown; message?: string; name?: string; details?: unknown };
  // A ColonyError, or an error of the same shape (a code of the taxonomy, a name ending in Error).
  const code = e?.name !== undefined && /Error$/.test(e.name) && isErrorCode(e.code) ? e.code : null;
  const known = code !== null;
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { code: code ?? 'internal', message: e?.message ?? String(error), ...(known && e.details ? { details: e.details } : {}) } }, null, 2)}\n`);
  } else {
    process.stderr.write(`colony: ${known ? '' : 'unexpected error: '}${e?.message ?? String(error)}\n`);
    if (!known && process.env.COLONY_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  }
  return known ? exitCodeFor(code) : EXIT.internal;
}

// A reader that goes away (`colony task list | head`) is not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
    throw error;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`colony: unexpected error: ${(error as Error).message}\n`);
    process.exitCode = EXIT.internal;
  },
);
