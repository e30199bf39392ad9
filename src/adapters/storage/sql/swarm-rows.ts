import type { ProposalRecord, ProposalStatus, VoteRecord, VoteStatus, VoterFlag, ByzantineReason } from '../../../domain/consensus.js';
import type { SwarmRecord, SwarmStatus, SwarmTopology } from '../../../domain/swarm.js';
import { readJson } from './rows.js';
import type { ConsensusProposalRow, ConsensusVoteRow, SwarmRow, VoterFlagRow } from './schema.js';

function num(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

function nullableNum(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

function nullableJson<T>(value: unknown): T | null {
  return value === null || value === undefined ? null : readJson<T>(value);
}

export function swarmToRow(swarm: SwarmRecord): SwarmRow {
  return {
    id: swarm.id,
    name: swarm.name,
    topology: swarm.topology,
    objective: swarm.objective,
    config: JSON.stringify(swarm.config),
    status: swarm.status,
    progress: swarm.progress,
    created_at: swarm.createdAt,
    updated_at: swarm.updatedAt,
    plan: swarm.plan === null ? null : JSON.stringify(swarm.plan),
    result: swarm.result === null ? null : JSON.stringify(swarm.result),
    error: swarm.error === null ? null : JSON.stringify(swarm.error),
    usage: JSON.stringify(swarm.usage),
    agent_ids: JSON.stringify(swarm.agentIds),
    leader_agent_id: swarm.leaderAgentId,
    runner_id: swarm.runnerId,
    started_at: swarm.startedAt,
    finished_at: swarm.finishedAt,
  };
}

export function swarmFromRow(row: SwarmRow): SwarmRecord {
  return {
    id: row.id,
    name: row.name,
    objective: row.objective ?? '',
    topology: row.topology as SwarmTopology,
    status: row.status as SwarmStatus,
    config: readJson(row.config),
    plan: nullableJson(row.plan),
    progress: row.progress,
    result: nullableJson(row.result),
    error: nullableJson(row.error),
    usage: readJson(row.usage),
    leaderAgentId: row.leader_agent_id,
    agentIds: readJson(row.agent_ids),
    runnerId: row.runner_id,
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    startedAt: nullableNum(row.started_at),
    finishedAt: nullableNum(row.finished_at),
  };
}

export function proposalToRow(p: ProposalRecord): ConsensusProposalRow {
  return {
    id: p.id,
    question: p.question,
    options: JSON.stringify(p.options),
    context: p.context,
    settings: JSON.stringify(p.settings),
    status: p.status,
    swarm_id: p.swarmId,
    task_id: p.taskId,
    voter_ids: JSON.stringify(p.voterIds),
    outcome: p.outcome === null ? null : JSON.stringify(p.outcome),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    decided_at: p.decidedAt,
  };
}

export function proposalFromRow(row: ConsensusProposalRow): ProposalRecord {
  return {
    id: row.id,
    question: row.question,
    options: readJson(row.options),
    context: row.context,
    settings: readJson(row.settings),
    status: row.status as ProposalStatus,
    swarmId: row.swarm_id,
    taskId: row.task_id,
    voterIds: readJson(row.voter_ids),
    outcome: nullableJson(row.outcome),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    decidedAt: nullableNum(row.decided_at),
  };
}

export function voteFromRow(row: ConsensusVoteRow): VoteRecord {
  return {
    id: num(row.id),
    proposalId: row.proposal_id,
    round: num(row.round),
    voterId: row.voter_id,
    decision: row.decision,
    confidence: row.confidence,
    reason: row.reason,
    signature: row.signature,
    weight: row.weight,
    status: row.status as VoteStatus,
    exclusion: row.exclusion,
    createdAt: num(row.created_at),
  };
}

export function voterFlagFromRow(row: VoterFlagRow): VoterFlag {
  return {
    voterId: row.voter_id,
    proposalId: row.proposal_id,
    round: num(row.round),
    reason: row.reason as ByzantineReason,
    flaggedAt: num(row.flagged_at),
  };
}
