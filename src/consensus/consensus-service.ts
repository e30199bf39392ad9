import type { AgentManager } from '../agents/agent-manager.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import { resolveIdPrefix } from '../kernel/resolve-id.js';
import type { AgentRecord, AgentTypeDefinition } from '../domain/agent.js';
import type { ProposalRecord, VoteRecord, VoterFlag } from '../domain/consensus.js';
import { CancelledError, ValidationError } from '../domain/errors.js';
import type { IdKind } from '../domain/ids.js';
import type { ProposalQuery } from '../ports/consensus-store.js';
import type { Store } from '../ports/store.js';
import type { ProviderChoice } from '../providers/provider-registry.js';
import { createAgentVoter } from './agent-voter.js';
import type { Voter } from './ballot.js';
import { CONSENSUS_DEFAULTS } from './consensus-defaults.js';
import { ConsensusEngine, type ProposalInput, type RefineQuestion, type RunningProposal } from './consensus-engine.js';
import {
  consensusAskSchema,
  consensusProposeSchema,
  parseConsensusInput,
  settingsOf,
  type ConsensusAskInput,
  type ConsensusAskRequest,
  type ConsensusProposeInput,
  type ConsensusProposeRequest,
} from './consensus-input.js';
import { VoterKeyring } from './vote-signing.js';
import { recordVoteUsage, type VoteUsage } from './vote-usage.js';

export interface ConsensusServiceDeps {
  store: Store;
  events: EventBus;
  agents: AgentManager;
  /** The provider for an id (undefined: the default) and a model (undefined: its configured one). */
  provider(id: string | undefined, model: string | undefined): Promise<ProviderChoice>;
  logger: Logger;
  newId: (kind: IdKind) => string;
  now: () => number;
}

export interface AskOptions {
  signal?: AbortSignal;
  /** Each model call's usage, with its cost, as it happens (swarms count tokens with it). */
  onUsage?: (usage: VoteUsage) => void;
  /** Rewrites the question between rounds of a multi-round vote. */
  refine?: RefineQuestion;
}

export interface CustomProposeOptions {
  signal?: AbortSignal;
  refine?: RefineQuestion;
  /** Count the votes of voters flagged before (default: they are left out). */
  includeFlagged?: boolean;
}

/**
 * What a colony exposes as `colony.consensus`: questions put to agents (`ask`: named agents, or
 * agents of a type spawned for the question and terminated after it), proposals decided by custom
 * voters (`propose`, for programs and tests), and the record of proposals, votes and flags.
 * Everything a request says is validated before anything is stored or spawned.
 */
export class ConsensusService {
  /** Signs votes for the voters of this process; custom voters sign with it too. */
  readonly keyring: VoterKeyring;
  readonly #deps: ConsensusServiceDeps;
  readonly #engine: ConsensusEngine;
  /** Proposals running in this process, so that closing the colony can stop them. */
  readonly #running = new Map<Promise<unknown>, AbortController>();
  #closed = false;

  constructor(deps: ConsensusServiceDeps) {
    this.#deps = deps;
    this.keyring = new VoterKeyring({ store: deps.store.consensus, now: deps.now });
    this.#engine = new ConsensusEngine({
      store: deps.store.consensus,
      trackRecords: (ids) => deps.store.metrics.agentTrackRecords(ids),
      events: deps.events,
      logger: deps.logger,
      newId: deps.newId,
      now: deps.now,
    });
  }

  /** Puts a question to agents and resolves with the decided proposal (rejects if it fails). */
  async ask(input: ConsensusAskInput, options: AskOptions = {}): Promise<ProposalRecord> {
    return (await this.start(input, options)).done;
  }

  /**
   * Validates the request, prepares the voters (spawning agents if asked to) and opens the proposal;
   * resolves once it is stored and announced, with `done` settling when it is decided. For callers
   * that answer at once and let the vote run (REST).
   */
  async start(input: ConsensusAskInput, options: AskOptions = {}): Promise<RunningProposal> {
    this.#assertOpen();
    const request = parseConsensusInput(consensusAskSchema, input);
    const refs = await this.#resolveRefs(request);
    const wanted = await this.#checkVoters(request, refs.taskId);
    const choice = await this.#deps.provider(request.provider, request.model);
    const { agents, spawned } = await this.#voterAgents(wanted);
    let proposalId: string | null = null;
    try {
      const types = new Map<string, AgentTypeDefinition>();
      for (const agent of agents) if (!types.has(agent.type)) types.set(agent.type, await this.#deps.agents.type(agent.type));
      const ids = { taskId: refs.taskId ?? null, swarmId: refs.swarmId ?? null };
      const voters = agents.map((agent) =>
        createAgentVoter({
          agentId: agent.id,
          agentType: types.get(agent.type) as AgentTypeDefinition,
          provider: choice.provider,
          providerId: choice.providerId,
          model: choice.model,
          keyring: this.keyring,
          logger: this.#deps.logger,
          onUsage: async (call) => {
            const usage = await recordVoteUsage(this.#deps, call, ids, ids.swarmId ?? ids.taskId ?? call.proposalId);
            options.onUsage?.(usage);
          },
        }),
      );
      const running = await this.#begin(this.#proposalInput(request, refs), voters, options, (id) => this.#retire(spawned, id));
      proposalId = running.proposal.id;
      return running;
    } catch (error) {
      if (proposalId === null) await this.#retire(spawned, null);
      throw error;
    }
  }

  /** A proposal decided by the given voters (custom `Voter` objects that sign with `keyring`). */
  async propose(input: ConsensusProposeInput, voters: readonly Voter[], options: CustomProposeOptions = {}): Promise<ProposalRecord> {
    this.#assertOpen();
    const request = parseConsensusInput(consensusProposeSchema, input);
    const refs = await this.#resolveRefs(request);
    return (await this.#begin(this.#proposalInput(request, refs), voters, options)).done;
  }

  get(idOrPrefix: string): Promise<ProposalRecord> {
    return this.#engine.get(idOrPrefix);
  }

  list(query: ProposalQuery = {}): Promise<ProposalRecord[]> {
    return this.#engine.list(query);
  }

  count(query: Omit<ProposalQuery, 'limit' | 'offset'> = {}): Promise<number> {
    return this.#engine.count(query);
  }

  votes(idOrPrefix: string, round?: number): Promise<VoteRecord[]> {
    return this.#engine.votes(idOrPrefix, round);
  }

  /** Flags on the given voters (every flag when omitted), oldest first. */
  flags(voterIds?: readonly string[]): Promise<VoterFlag[]> {
    return this.#deps.store.consensus.listVoterFlags(voterIds);
  }

  /** Cancels the proposals running in this process and waits for them to be recorded as failed. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#running.values()) controller.abort(new CancelledError('the colony is closing'));
    await Promise.allSettled([...this.#running.keys()]);
  }

  #assertOpen(): void {
    if (this.#closed) throw new CancelledError('the colony is closing: no new proposals');
  }

  /**
   * Opens the proposal on the engine, cancellable by close(). `cleanup` runs after the outcome,
   * whatever it is, before `done` settles (and never replaces the outcome).
   */
  async #begin(
    input: ProposalInput,
    voters: readonly Voter[],
    options: CustomProposeOptions,
    cleanup?: (proposalId: string) => Promise<void>,
  ): Promise<RunningProposal> {
    this.#assertOpen();
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const begun = this.#engine
      .begin(input, voters, {
        signal,
        ...(options.refine === undefined ? {} : { refine: options.refine }),
        ...(options.includeFlagged === undefined ? {} : { includeFlagged: options.includeFlagged }),
      })
      .then((running) => {
        const id = running.proposal.id;
        return { proposal: running.proposal, done: cleanup === undefined ? running.done : running.done.finally(() => cleanup(id)) };
      });
    // Tracked for close() from before the proposal is stored: a close() while it is being stored
    // cancels it too, instead of missing it and leaving it to run after the colony closed.
    const tracked: Promise<unknown> = begun.then((running) => running.done).finally(() => this.#running.delete(tracked));
    // The caller of `done` sees the outcome or the error.
    tracked.catch(() => undefined);
    this.#running.set(tracked, controller);
    return begun;
  }

  #proposalInput(request: ConsensusProposeRequest, refs: { swarmId?: string; taskId?: string }): ProposalInput {
    return {
      question: request.question,
      options: request.options ?? CONSENSUS_DEFAULTS.options,
      context: request.context ?? null,
      settings: settingsOf(request),
      swarmId: refs.swarmId ?? null,
      taskId: refs.taskId ?? null,
    };
  }

  /** The swarm and task a proposal belongs to, resolved from (unique prefixes of) their ids. */
  async #resolveRefs(request: { swarmId?: string | undefined; taskId?: string | undefined }): Promise<{ swarmId?: string; taskId?: string }> {
    const store = this.#deps.store;
    const refs: { swarmId?: string; taskId?: string } = {};
    if (request.swarmId !== undefined) refs.swarmId = await resolveIdPrefix('swarm', request.swarmId, (p, n) => store.swarms.findIdsByPrefix(p, n));
    if (request.taskId !== undefined) refs.taskId = await resolveIdPrefix('task', request.taskId, (p, n) => store.tasks.findIdsByPrefix(p, n));
    return refs;
  }

  /**
   * The named agents (checked), or the type and number of agents to spawn. A vote about a task's
   * result never counts its author: naming the agent that ran the task is refused.
   */
  async #checkVoters(request: ConsensusAskRequest, taskId: string | undefined): Promise<{ agents: AgentRecord[] } | { type: AgentTypeDefinition; count: number }> {
    const manager = this.#deps.agents;
    if (request.agentIds === undefined) {
      return { type: await manager.type(request.agentType ?? CONSENSUS_DEFAULTS.agentType), count: request.voters ?? CONSENSUS_DEFAULTS.voters };
    }
    const agents = await Promise.all(request.agentIds.map((id) => manager.get(id)));
    const seen = new Set<string>();
    for (const agent of agents) {
      if (agent.status === 'terminated') throw new ValidationError(`agentIds: agent ${agent.id} is terminated`, { details: { field: 'agentIds' } });
      if (seen.has(agent.id)) throw new ValidationError(`agentIds: agent ${agent.id} is listed twice`, { details: { field: 'agentIds' } });
      seen.add(agent.id);
    }
    const author = taskId === undefined ? null : ((await this.#deps.store.tasks.get(taskId))?.assignedAgent ?? null);
    if (author !== null && seen.has(author)) {
      throw new ValidationError(`agentIds: agent ${author} ran task ${taskId} and cannot vote on its own work; name other agents`, { details: { field: 'agentIds' } });
    }
    return { agents };
  }

  /** The named agents, or newly spawned ones, paused (all of them, or none if the pool is too small). */
  async #voterAgents(wanted: { agents: AgentRecord[] } | { type: AgentTypeDefinition; count: number }): Promise<{ agents: AgentRecord[]; spawned: string[] }> {
    if ('agents' in wanted) return { agents: wanted.agents, spawned: [] };
    const agents: AgentRecord[] = [];
    try {
      for (let i = 0; i < wanted.count; i++) {
        const agent = await this.#deps.agents.spawn({ type: wanted.type.name });
        agents.push(agent);
        // Paused: they are only voters, so the scheduler does not hand them tasks meanwhile.
        agents[agents.length - 1] = await this.#deps.agents.setStatus(agent.id, 'paused');
      }
    } catch (error) {
      await this.#retire(agents.map((a) => a.id), null);
      throw error;
    }
    return { agents, spawned: agents.map((a) => a.id) };
  }

  /** Terminates the agents spawned for a question once it is decided (they were only voters). */
  async #retire(agentIds: readonly string[], proposalId: string | null): Promise<void> {
    const reason = proposalId === null ? 'the vote could not start' : `voted on ${proposalId}`;
    for (const id of agentIds) {
      try {
        await this.#deps.agents.terminate(id, reason);
      } catch (error) {
        this.#deps.logger.warn({ err: error, agentId: id }, 'a voting agent could not be terminated');
      }
    }
  }
}
