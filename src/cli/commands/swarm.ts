import { readFileSync } from 'node:fs';
import type { Colony } from '../../app/colony.js';
import { validateDag } from '../../domain/dag.js';
import { ColonyError, ValidationError } from '../../domain/errors.js';
import { isSwarmFinished, SWARM_STATUSES, SWARM_TOPOLOGIES, type SwarmRecord, type SwarmStatus } from '../../domain/swarm.js';
import { parsePlanText } from '../../swarm/plan-file.js';
import { parseSwarmSpec, type SwarmSpecInput } from '../../swarm/swarm-spec.js';
import type { SwarmStatusReport } from '../../swarm/swarms.js';
import { formatDuration } from '../../tasks/duration.js';
import type { GlobalOptions } from '../cli-context.js';
import { logFilePath, openColony, withColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { refuseCommandWord } from '../objective-guard.js';
import { providerFailureLine, providerFailureOfTaskError } from '../provider-failure-line.js';
import { color, isoTime, printJson, printTable, println, statusColor, truncate } from '../output.js';
import { runUntilDone } from '../run-until-done.js';
import { swarmGitLines } from '../swarm-git.js';
import { SwarmProgress, taskSymbol, usageText } from '../swarm-progress.js';

/** Exit code after SIGTERM (128 + 15), as a process killed by it would have. */
const EXIT_SIGTERM = 143;
/** The log file of `colony swarm`, under the data directory's logs/ (stderr is the live view). */
const SWARM_LOG = 'swarm.log';

export interface SwarmStartOptions extends GlobalOptions {
  name?: string;
  topology?: string;
  agents?: number;
  roster?: string[];
  pools?: string[];
  provider?: string;
  model?: string;
  maxAgents?: number;
  maxTokens?: number;
  maxCost?: string;
  deadline?: string;
  concurrency?: number;
  /** `--review` / `--no-review`; undefined: the topology's default. */
  review?: boolean;
  /** `--no-worktrees`: false. */
  worktrees?: boolean;
  plan?: string;
  quiet?: boolean;
  /** The objective as one option: taken as it is, even a single command word. */
  objective?: string;
}

/**
 * `colony swarm "<objective>"`: creates a swarm and runs it in this process (its coordinator and its
 * tasks), with a live view of the plan, the agents and the votes; then prints the result. Exit 0 when
 * it completed, 1 when it failed, 6 when it was stopped; Ctrl-C stops it (unfinished tasks are
 * cancelled, finished work is kept as a partial result) and exits 130, or 0 if it completed first.
 * Logs go to `.colony/logs/swarm.log`, not over the live view.
 */
export async function swarmStartCommand(words: string[], options: SwarmStartOptions): Promise<number> {
  // Everything is checked before the database is opened: bad input creates nothing.
  const spec = specFromOptions(objectiveOf(words, options.objective), options);
  parseSwarmSpec(spec);

  const colony = await openColony(options, 'swarm', {}, { logFile: SWARM_LOG });
  try {
    // A provider that cannot be used (no API key) is a configuration error before anything is stored.
    await colony.providers.get(spec.provider, spec.model);
    const created = await colony.swarms.create(spec);
    const progress = options.json || options.quiet ? null : new SwarmProgress(colony, created);
    if (progress) {
      const source = created.config.planSource === 'user' ? 'your plan' : 'a plan from the planner';
      process.stderr.write(
        `${color.bold(created.name)}: swarm ${created.id}, ${created.topology}, ${source}, up to ${created.config.limits.concurrency} tasks at once\n`,
      );
    }
    progress?.attach();
    const say = progress ? (line: string) => progress.log(color.yellow(line)) : (line: string) => void process.stderr.write(`${line}\n`);
    let stopped: SwarmRecord | undefined;
    const outcome = await runUntilDone(
      colony,
      { swarmId: created.id },
      async (signal) => {
        const waiting = new AbortController();
        try {
          return await Promise.race([
            colony.swarms.waitFor(created.id, waiting.signal),
            new Promise<never>((_, reject) =>
              signal.addEventListener(
                'abort',
                () => {
                  const reason = String((signal.reason as Error | undefined)?.message ?? 'interrupted');
                  colony.swarms.stop(created.id, reason).then(
                    (record) => {
                      stopped = record;
                      reject(signal.reason);
                    },
                    async (error: unknown) => {
                      // It finished before the stop took (a conflict): that ending stands.
                      stopped = await colony.swarms.get(created.id).catch(() => undefined);
                      reject(stopped && isSwarmFinished(stopped.status) ? signal.reason : error);
                    },
                  );
                },
                // Once the wait is over, a late signal does not stop a finished swarm.
                { once: true, signal: waiting.signal },
              ),
            ),
          ]);
        } finally {
          waiting.abort();
        }
      },
      say,
      {
        first: (signal) => `${signal}: stopping the swarm: unfinished tasks are cancelled, finished work is kept as a partial result; send it again to stop at once`,
        second: 'stopping at once: running tasks are cut off',
      },
    );
    progress?.detach();
    const final = outcome.value ?? stopped ?? (await colony.swarms.get(created.id));
    if (outcome.interrupted && final.status === 'completed') process.stderr.write(`${color.yellow('the swarm completed before it could be stopped')}\n`);
    if (options.json) printJson(final);
    else await printOutcome(colony, final);
    // A swarm that completed is a success, whenever the signal came.
    if (outcome.interrupted && final.status !== 'completed') return outcome.signal === 'SIGTERM' ? EXIT_SIGTERM : EXIT.interrupted;
    return exitFor(final);
  } finally {
    await colony.close();
  }
}

/** The objective: the words, or `--objective` (never taken for a command word). */
function objectiveOf(words: readonly string[], option: string | undefined): string {
  if (option !== undefined && words.length > 0) throw new ValidationError('give the objective either as words or with --objective, not both');
  if (option !== undefined) return option;
  if (words.length === 0) throw new ValidationError('an objective is required: colony swarm "<objective>" (see colony swarm --help)', { details: { field: 'objective' } });
  refuseCommandWord(words);
  return words.join(' ');
}

function exitFor(swarm: SwarmRecord): number {
  switch (swarm.status) {
    case 'completed':
      return EXIT.ok;
    case 'stopped':
      return EXIT.stopped;
    default:
      return EXIT.failed;
  }
}

/** The swarm spec the options describe (validated by the caller with the shared schema). */
function specFromOptions(objective: string, o: SwarmStartOptions): SwarmSpecInput {
  const spec: Record<string, unknown> = { objective: objective.trim() };
  if (o.name !== undefined) spec.name = o.name;
  if (o.topology !== undefined) spec.topology = o.topology;
  if (o.agents !== undefined) spec.agents = o.agents;
  if (o.roster?.length) spec.roster = parseRoster(o.roster);
  if (o.pools?.length) spec.pools = Object.fromEntries(o.pools.map((p) => countPair('--pools', p, 'eu=2')));
  if (o.provider !== undefined) spec.provider = o.provider;
  if (o.model !== undefined) spec.model = o.model;
  if (o.maxAgents !== undefined) spec.maxAgents = o.maxAgents;
  if (o.maxTokens !== undefined) spec.maxTokens = o.maxTokens;
  if (o.maxCost !== undefined) {
    const usd = Number(o.maxCost);
    if (!/^\d+(\.\d+)?$/.test(o.maxCost.trim()) || !(usd > 0)) throw new ValidationError(`option --max-cost: expected an amount in US dollars above 0, got "${o.maxCost}"`);
    spec.maxCostUsd = usd;
  }
  if (o.deadline !== undefined) spec.deadline = o.deadline;
  if (o.concurrency !== undefined) spec.concurrency = o.concurrency;
  if (o.review !== undefined) spec.review = o.review;
  if (o.worktrees === false) spec.worktrees = false;
  if (o.plan !== undefined) spec.plan = readPlan(o.plan);
  return spec as SwarmSpecInput;
}

function readPlan(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ValidationError(code === 'ENOENT' ? `plan file not found: ${file}` : `cannot read plan file ${file}: ${code ?? (error as Error).message}`, {
      details: { file },
    });
  }
  const plan = parsePlanText(text, file);
  // The graph is checked here too, so that a broken plan file creates nothing (agent types are checked by create).
  try {
    validateDag(plan.tasks.map((t) => ({ id: t.id, dependencies: t.dependsOn })));
  } catch (error) {
    if (error instanceof ColonyError) throw new ValidationError(`${file}: tasks: ${error.message}`, { details: { file, ...error.details } });
    throw error;
  }
  return plan;
}

/** `name=count` → [name, count], naming the option when it is not. */
function countPair(option: string, text: string, example: string): [string, number] {
  const m = /^([^=\s]+)=(\d+)$/.exec(text);
  if (!m) throw new ValidationError(`option ${option}: expected name=count pairs like ${example}, got "${text}"`);
  return [m[1] as string, Number(m[2])];
}

/** `coder=2,tester=1`, or with a pool for the distributed topology: `coder@eu=2`. */
function parseRoster(items: string[]): { type: string; count: number; pool?: string }[] {
  return items.map((item) => {
    const [key, count] = countPair('--roster', item, 'coder=2,tester=1 (or coder@eu=2)');
    const [type, pool] = key.split('@', 2) as [string, string | undefined];
    return { type, count, ...(pool ? { pool } : {}) };
  });
}

async function printOutcome(colony: Colony, swarm: SwarmRecord): Promise<void> {
  const report = await colony.swarms.status(swarm.id);
  if (report.tasks.length > 0) {
    println();
    printTaskTable(report);
  }
  println();
  const took = swarm.startedAt && swarm.finishedAt ? ` in ${formatDuration(swarm.finishedAt - swarm.startedAt)}` : '';
  const mark = swarm.status === 'completed' ? color.green('✓') : swarm.status === 'stopped' ? color.yellow('⊘') : color.red('✗');
  const c = report.counts;
  println(`${mark} ${color.bold(swarm.name)} ${swarm.status}${took}: ${c.completed} completed, ${c.failed} failed, ${c.cancelled} cancelled; ${usageText(swarm.usage)}`);
  // A provider behind the failure is named once, with where it was called and what it said.
  const provider = swarm.error?.provider ?? report.tasks.map((t) => providerFailureOfTaskError(t.error)).find((f) => f !== null) ?? null;
  if (swarm.error && swarm.error.message !== provider?.message) println(color.red(`  ${swarm.error.code}: ${swarm.error.message}`));
  if (provider) println(color.red(`  ${providerFailureLine(colony, provider)}`));
  if (swarm.status === 'failed') println(color.dim(`  log: ${logFilePath(colony.config.dataDir, SWARM_LOG)}`));
  for (const line of swarmGitLines(swarm)) println(line);
  if (swarm.result) {
    if (swarm.result.partial) println(color.yellow('  partial result: not every task finished'));
    if (swarm.result.summary.trim()) {
      println();
      println(swarm.result.summary.trim());
    }
  }
  if (swarm.status !== 'completed') println(color.dim(`  see it with \`colony swarm status ${swarm.id}\``));
}

function printTaskTable(report: SwarmStatusReport): void {
  printTable(
    ['', 'TASK', 'STATUS', 'AGENT', 'REVISIONS', 'TASK ID'],
    report.tasks.map((t) => [
      taskSymbol(t.status),
      truncate(t.title, 48),
      statusColor(t.status),
      t.agentId ? `${t.agentType ?? '?'} ${t.agentId}` : '-',
      String(t.revisions),
      t.taskId ?? '-',
    ]),
  );
}

function checkedStatuses(statuses: string[] | undefined): SwarmStatus[] | undefined {
  if (!statuses?.length) return undefined;
  const bad = statuses.find((s) => !SWARM_STATUSES.includes(s as SwarmStatus));
  if (bad) throw new ValidationError(`option --status: expected one of ${SWARM_STATUSES.join(', ')}, got "${bad}"`);
  return statuses as SwarmStatus[];
}

export async function swarmListCommand(options: GlobalOptions & { status?: string[]; topology?: string; limit: number; offset: number }): Promise<void> {
  const status = checkedStatuses(options.status);
  if (options.topology !== undefined && !SWARM_TOPOLOGIES.includes(options.topology as never)) {
    throw new ValidationError(`option --topology: expected one of ${SWARM_TOPOLOGIES.join(', ')}, got "${options.topology}"`);
  }
  await withColony(
    options,
    'cli',
    async (colony) => {
      const swarms = await colony.swarms.list({ status, topology: options.topology, limit: options.limit, offset: options.offset });
      if (options.json) return printJson(swarms);
      printTable(
        ['ID', 'NAME', 'TOPOLOGY', 'STATUS', 'PROGRESS', 'AGENTS', 'USAGE', 'CREATED', 'OBJECTIVE'],
        swarms.map((s) => [
          s.id,
          s.name,
          s.topology,
          statusColor(s.status),
          `${Math.round(s.progress * 100)}%`,
          String(s.agentIds.length),
          usageText(s.usage),
          isoTime(s.createdAt),
          truncate(s.objective, 40),
        ]),
      );
    },
    {},
    { mustExist: true },
  );
}

export async function swarmStatusCommand(id: string, options: GlobalOptions): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const report = await colony.swarms.status(id);
      if (options.json) return printJson(report);
      printReport(report);
    },
    {},
    { mustExist: true },
  );
}

/** `colony swarm diff <id>`: the swarm's patch on stdout (`--json`: with its branch, base and head). */
export async function swarmDiffCommand(id: string, options: GlobalOptions): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const diff = await colony.swarms.diff(id);
      if (options.json) return printJson(diff);
      process.stdout.write(diff.patch);
    },
    {},
    { mustExist: true },
  );
}

function printReport(report: SwarmStatusReport): void {
  const s = report.swarm;
  println(`${color.bold(s.name)} ${color.dim(s.id)}`);
  println(`  objective     ${truncate(s.objective, 100)}`);
  const planned = report.tasks.length;
  println(`  topology      ${s.topology}   status ${statusColor(s.status)}   progress ${Math.round(s.progress * 100)}% (${report.counts.completed} of ${planned} tasks completed)`);
  const limits = s.config.limits;
  const bounds = [
    `${limits.maxAgents} agents`,
    `${limits.concurrency} at once`,
    limits.maxTokens === null ? null : `${limits.maxTokens} tokens`,
    limits.maxCostUsd === null ? null : `$${limits.maxCostUsd}`,
    limits.deadline === null ? null : `deadline ${isoTime(limits.deadline)}`,
  ].filter(Boolean);
  println(`  limits        ${bounds.join(', ')}`);
  println(`  review        ${s.config.review ? `yes (up to ${s.config.maxRevisions} revision${s.config.maxRevisions === 1 ? '' : 's'})` : 'no'}   plan from ${s.config.planSource === 'user' ? 'the user' : 'the planner'}`);
  if (s.leaderAgentId) println(`  leader        ${s.leaderAgentId}`);
  println(`  usage         ${usageText(s.usage)} over ${s.usage.calls} model call${s.usage.calls === 1 ? '' : 's'}`);
  println(`  created       ${isoTime(s.createdAt)}`);
  if (s.startedAt) println(`  started       ${isoTime(s.startedAt)}`);
  if (s.finishedAt) println(`  finished      ${isoTime(s.finishedAt)}${s.startedAt ? ` (${formatDuration(s.finishedAt - s.startedAt)})` : ''}`);
  if (s.error) println(`  error         ${color.red(`${s.error.code}: ${s.error.message}`)}`);
  for (const line of swarmGitLines(s)) println(line);
  const c = report.counts;
  const counts = Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  println();
  println(color.bold(`Tasks${counts ? ` (${counts})` : ''}`));
  printTaskTable(report);
  if (report.agents.length) {
    println();
    println(color.bold('Agents'));
    printTable(
      ['ID', 'NAME', 'TYPE', 'STATUS', 'HEALTH'],
      report.agents.map((a) => [a.id, a.name, a.type, statusColor(a.status), statusColor(a.health)]),
    );
  }
  if (report.proposals.length) {
    println();
    println(color.bold('Votes'));
    const titleOf = new Map(report.tasks.filter((t) => t.taskId !== null).map((t) => [t.taskId as string, t.title]));
    printTable(
      ['ID', 'ABOUT', 'STATUS', 'DECISION', 'VOTERS'],
      report.proposals.map((p) => [
        p.id,
        p.taskId ? `task "${truncate(titleOf.get(p.taskId) ?? p.taskId, 40)}"` : truncate(p.question, 48),
        p.status.replace('_', ' '),
        p.outcome?.decision ?? '-',
        String(p.voterIds.length),
      ]),
    );
  }
  if (s.result) {
    println();
    println(color.bold(`Result${s.result.partial ? ' (partial)' : ''}`));
    for (const d of s.result.domains ?? []) println(`  ${color.bold(d.name)}: ${truncate(d.summary, 200)}`);
    println(s.result.summary.trim() || color.dim('(empty)'));
  }
}

type ControlAction = 'pause' | 'resume' | 'stop';

const DONE_TEXT: Record<ControlAction, string> = {
  pause: 'paused: no new tasks are dispatched; running ones finish',
  resume: 'resumed',
  stop: 'stopped: unfinished tasks are cancelled, finished work is kept',
};

export async function swarmControlCommand(action: ControlAction, id: string, options: GlobalOptions & { reason?: string }): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const swarm =
        action === 'pause' ? await colony.swarms.pause(id) : action === 'resume' ? await colony.swarms.resume(id) : await colony.swarms.stop(id, options.reason);
      if (options.json) return printJson(swarm);
      println(`${color.green('✓')} swarm ${swarm.id} ${DONE_TEXT[action]} (status ${swarm.status})`);
    },
    {},
    { mustExist: true },
  );
}
