import { hostname } from 'node:os';
import type { Colony } from '../app/colony.js';
import type { RunnerRecord } from '../ports/store.js';

/**
 * Runner kinds whose engine takes any queued task: `colony up` (server), `colony worker` and
 * `colony mcp`. The others (`colony run`, `task create --wait`, `agent run`, `swarm`) run only
 * their own workflow, task or swarm, so they will not finish work someone else left behind.
 */
const KINDS_RUNNING_ANY_TASK: ReadonlySet<string> = new Set(['server', 'worker', 'mcp']);

/** What each kind is called in a sentence. */
const KIND_NAMES: Readonly<Record<string, string>> = { server: 'Colony server', worker: 'Colony worker', mcp: 'Colony MCP server' };

/**
 * Other live processes on this database that will pick up queued tasks (of `pool`, when given), such
 * as a `colony up`. One that only serves (`up --no-work`) runs none; a pooled task only a worker of its pool.
 */
export async function runnersOfQueuedWork(colony: Colony, pool: string | null = null): Promise<RunnerRecord[]> {
  const live = await colony.runners.liveRunners();
  return live.filter((r) => r.id !== colony.runners.id && r.runsTasks && KINDS_RUNNING_ANY_TASK.has(r.kind) && (pool === null || r.pools.includes(pool)));
}

/** "the Colony server (pid 4242)" or "2 Colony processes (Colony server pid 4242, Colony worker pid 77 on build-2)". */
export function describeRunners(runners: readonly RunnerRecord[]): string {
  const here = hostname();
  const one = (r: RunnerRecord) => `pid ${r.pid}${r.hostname === here ? '' : ` on ${r.hostname}`}`;
  if (runners.length === 1) {
    const r = runners[0] as RunnerRecord;
    return `the ${KIND_NAMES[r.kind] ?? r.kind} (${one(r)})`;
  }
  return `${runners.length} Colony processes (${runners.map((r) => `${KIND_NAMES[r.kind] ?? r.kind} ${one(r)}`).join(', ')})`;
}
