import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Colony } from '../app/colony.js';
import { ValidationError } from '../domain/errors.js';
import { changedLines, cutPatch, PATCH_CUT_MIN_BYTES, SWARM_TOPOLOGIES, type SwarmRecord, type SwarmTopology } from '../domain/swarm.js';
import type { SwarmStatusReport } from '../swarm/swarms.js';

/**
 * The swarm tools of the MCP server, with Claude-Flow's argument names (`swarm_init` with topology,
 * maxAgents, strategy), and the swarm resources. Colony swarms work on an objective, so swarm_init
 * also takes one (and creates and starts the swarm in the serving colony).
 */

/** Claude-Flow's topology names that Colony runs under another name. */
const TOPOLOGY_ALIASES: Record<string, SwarmTopology> = { star: 'centralized' };
const SUPPORTED_TOPOLOGIES = 'centralized (or star), mesh, hierarchical, distributed';
/** Swarms listed by swarm_status without an id and by the colony://swarms resource. */
const SWARM_LIST_LIMIT = 100;
const RESULT_PREVIEW_CHARS = 4_000;
/** A swarm_diff patch by default, and at most: a model's context is the limit, not git's. */
const DIFF_DEFAULT_BYTES = 100_000;
const DIFF_MAX_BYTES = 1_000_000;
/** Files of a swarm's git result listed by swarm_status; swarm_diff lists them all. */
const STATUS_FILES_SHOWN = 20;

export const SWARM_TOOL_SCHEMAS = {
  swarm_init: z.object({
    objective: z.string().min(1).max(20_000).describe('what the swarm is to achieve'),
    topology: z.string().min(1).max(40).optional().describe(`${SUPPORTED_TOPOLOGIES}; default centralized`),
    maxAgents: z.number().int().min(1).max(1_000).optional(),
    strategy: z.enum(['balanced', 'specialized', 'adaptive']).optional().describe('informational: agents are always chosen adaptively from track records'),
    agents: z
      .union([z.number().int().min(1).max(1_000), z.array(z.object({ type: z.string(), count: z.number().int(), pool: z.string().optional() })).min(1).max(50)])
      .optional()
      .describe('worker count, or a roster [{type, count}]'),
    plan: z.record(z.string(), z.unknown()).optional().describe('skip the planner: {tasks: [{id, title, prompt, dependsOn?, agentType?}]}'),
    review: z.boolean().optional().describe('have results reviewed (default: per topology)'),
    name: z.string().min(1).max(64).optional(),
  }),
  swarm_status: z.object({ swarmId: z.string().min(1).max(200).optional().describe('omit for a summary of the active swarms') }),
  swarm_diff: z.object({
    swarmId: z.string().min(1).max(200).describe('the swarm id, or a unique prefix of it'),
    maxBytes: z
      .number()
      .int()
      .min(PATCH_CUT_MIN_BYTES)
      .max(DIFF_MAX_BYTES)
      .optional()
      .describe(`the most of the patch returned, in bytes (default ${DIFF_DEFAULT_BYTES}, at most ${DIFF_MAX_BYTES})`),
  }),
  swarm_control: z.object({
    swarmId: z.string().min(1).max(200),
    action: z.enum(['pause', 'resume', 'stop']),
    reason: z.string().min(1).max(1_000).optional(),
  }),
} as const;

export type SwarmToolName = keyof typeof SWARM_TOOL_SCHEMAS;

export const SWARM_TOOL_DESCRIPTIONS: Record<SwarmToolName, string> = {
  swarm_init: 'Create and start a swarm: agents plan and work on the objective under a topology (operator).',
  swarm_status: "A swarm's plan tasks, agents, votes, usage and result; without swarmId the active swarms (viewer).",
  swarm_diff:
    "A swarm's work in its git repository: its branch, base and head, the files changed with lines added and removed, and the patch (cut at maxBytes) (viewer).",
  swarm_control: 'Pause, resume or stop a swarm; stop keeps finished work as a partial result (operator).',
};

type Args<N extends SwarmToolName> = z.output<(typeof SWARM_TOOL_SCHEMAS)[N]>;

function topologyOf(value: string | undefined): SwarmTopology | undefined {
  if (value === undefined) return undefined;
  const name = value.trim().toLowerCase();
  const topology = TOPOLOGY_ALIASES[name] ?? (SWARM_TOPOLOGIES.includes(name as SwarmTopology) ? (name as SwarmTopology) : undefined);
  if (!topology) throw new ValidationError(`topology "${value}" is not supported; use one of ${SUPPORTED_TOPOLOGIES}`, { details: { field: 'topology' } });
  return topology;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function swarmView(s: SwarmRecord) {
  return {
    swarmId: s.id,
    name: s.name,
    objective: s.objective,
    topology: s.topology,
    status: s.status,
    progress: s.progress,
    agents: s.agentIds.length,
    leaderAgentId: s.leaderAgentId,
    usage: s.usage,
    error: s.error,
    createdAt: iso(s.createdAt),
    finishedAt: iso(s.finishedAt),
  };
}

function reportView(r: SwarmStatusReport) {
  const s = r.swarm;
  const summary = s.result?.summary ?? null;
  return {
    ...swarmView(s),
    limits: s.config.limits,
    review: s.config.review,
    planSource: s.config.planSource,
    counts: r.counts,
    tasks: r.tasks,
    agentList: r.agents.map((a) => ({ agentId: a.id, name: a.name, type: a.type, status: a.status, health: a.health })),
    proposals: r.proposals.map((p) => ({ proposalId: p.id, question: p.question, status: p.status, decision: p.outcome?.decision ?? null, voters: p.voterIds.length })),
    result: s.result && {
      partial: s.result.partial,
      summary: summary && summary.length > RESULT_PREVIEW_CHARS ? `${summary.slice(0, RESULT_PREVIEW_CHARS)}…` : summary,
      domains: s.result.domains,
    },
    // The branch and what changed: an MCP client (Claude Code) can then show or merge it.
    git: gitView(s),
  };
}

/**
 * A swarm's git work, compact: its branch, the counts of what changed and the first files (swarm_diff
 * has them all, with the patch). Before the swarm ends, only where it works: its branch and base.
 */
function gitView(s: SwarmRecord) {
  const config = s.config.git ?? null;
  if (config === null) return null;
  const result = s.result?.git;
  if (result === undefined) return { branch: config.branch, base: config.base, head: null, dirty: config.dirty };
  return {
    branch: result.branch,
    base: result.base,
    head: result.head,
    dirty: result.dirty,
    filesChanged: result.files.length,
    ...changedLines(result.files),
    files: result.files.slice(0, STATUS_FILES_SHOWN).map((f) => `${f.path} ${f.additions === null ? 'binary' : `+${f.additions} -${f.deletions ?? 0}`}`),
    ...(result.files.length > STATUS_FILES_SHOWN ? { moreFiles: result.files.length - STATUS_FILES_SHOWN } : {}),
    merged: result.merged,
    conflicts: result.conflicts.map((c) => ({ planTaskId: c.planTaskId, branch: c.branch, files: c.files })),
    kept: result.kept,
  };
}

export function swarmToolHandlers(colony: Colony): { [N in SwarmToolName]: (args: Args<N>) => Promise<unknown> } {
  return {
    swarm_init: async (args) => {
      const topology = topologyOf(args.topology);
      const swarm = await colony.swarms.create({
        objective: args.objective,
        ...(topology === undefined ? {} : { topology }),
        ...(args.maxAgents === undefined ? {} : { maxAgents: args.maxAgents }),
        ...(args.agents === undefined ? {} : typeof args.agents === 'number' ? { agents: args.agents } : { roster: args.agents }),
        ...(args.plan === undefined ? {} : { plan: args.plan }),
        ...(args.review === undefined ? {} : { review: args.review }),
        ...(args.name === undefined ? {} : { name: args.name }),
      });
      return { success: true, ...swarmView(swarm), maxAgents: swarm.config.limits.maxAgents, strategy: args.strategy ?? 'adaptive', roster: swarm.config.roster };
    },
    swarm_status: async (args) => {
      if (args.swarmId !== undefined) return { success: true, ...reportView(await colony.swarms.status(args.swarmId)) };
      const active = await colony.swarms.list({ status: ['planning', 'running', 'paused'], limit: SWARM_LIST_LIMIT });
      return { success: true, count: active.length, swarms: active.map(swarmView) };
    },
    swarm_diff: async (args) => {
      const diff = await colony.swarms.diff(args.swarmId);
      const maxBytes = args.maxBytes ?? DIFF_DEFAULT_BYTES;
      const patch = cutPatch(diff.patch, maxBytes);
      const { patchBytes } = patch;
      return {
        success: true,
        swarmId: diff.swarmId,
        branch: diff.branch,
        base: diff.base,
        head: diff.head,
        filesChanged: diff.files.length,
        ...changedLines(diff.files),
        files: diff.files,
        patchBytes,
        truncated: patch.cut,
        ...(patch.cut
          ? {
              note: `the patch is cut at ${Buffer.byteLength(patch.text, 'utf8')} of ${patchBytes} bytes (maxBytes ${maxBytes}); all of it: \`colony swarm diff ${diff.swarmId}\`, or \`git diff ${diff.base} ${diff.branch}\` in the repository`,
            }
          : {}),
        patch: patch.text,
      };
    },
    swarm_control: async (args) => {
      const swarm =
        args.action === 'pause'
          ? await colony.swarms.pause(args.swarmId)
          : args.action === 'resume'
            ? await colony.swarms.resume(args.swarmId)
            : await colony.swarms.stop(args.swarmId, args.reason ?? 'stopped over MCP');
      return { success: true, action: args.action, ...swarmView(swarm) };
    },
  };
}

/** colony://swarms (the latest swarms) and colony://swarms/{id} (a status report): read-only. */
export function registerSwarmResources(server: McpServer, colony: Colony): void {
  const json = (uri: URL, data: unknown): ReadResourceResult => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(data, null, 2) }] });
  server.registerResource(
    'swarms',
    'colony://swarms',
    { title: 'Swarms', description: 'The latest swarms with their status and progress', mimeType: 'application/json' },
    async (uri) => {
      const swarms = await colony.swarms.list({ limit: SWARM_LIST_LIMIT });
      return json(uri, { count: swarms.length, total: await colony.swarms.count(), swarms: swarms.map(swarmView) });
    },
  );
  server.registerResource(
    'swarm',
    new ResourceTemplate('colony://swarms/{id}', {
      list: async () => ({
        resources: (await colony.swarms.list({ limit: SWARM_LIST_LIMIT })).map((s) => ({ uri: `colony://swarms/${s.id}`, name: `${s.name} (${s.status})`, mimeType: 'application/json' })),
      }),
    }),
    { title: 'Swarm', description: "A swarm's status report: plan tasks, agents, votes, usage and result", mimeType: 'application/json' },
    async (uri, variables) => json(uri, reportView(await colony.swarms.status(decodeURIComponent(String(variables.id))))),
  );
}
