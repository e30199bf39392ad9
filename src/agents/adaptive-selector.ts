import { ValidationError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { MetricSample, Store } from '../ports/store.js';
import { sampleBeta } from './beta-sampler.js';
import { checkTaskKind } from './task-kind.js';
import type { AgentTypeChoice } from '../domain/agent.js';

/** One finished task: which agent type ran which kind of task, and how it went. */
export interface OutcomeSample {
  agentType: string;
  taskKind: string;
  success: boolean;
  latencyMs: number;
  /** null when the model's price is unknown (or nothing was spent on a model). */
  costUsd: number | null;
  at: number;
}

/** What has been learnt about one arm: an agent type on one kind of task. */
export interface ArmStats {
  agentType: string;
  taskKind: string;
  successes: number;
  failures: number;
  meanLatencyMs: number | null;
  /** Mean over the outcomes whose cost is known; null when none is. */
  meanCostUsd: number | null;
}

export interface AdaptiveSelectorOptions {
  store: Store;
  /** Uniform on [0, 1); tests inject a seeded one. */
  random: () => number;
  /** The time of an outcome recorded without one. */
  now: () => number;
}

/**
 * Penalties subtracted from an arm's sampled success probability: its mean latency (cost) as a
 * fraction of the slowest (dearest) candidate's. Small beside success, so that they only break
 * near-ties between agent types that succeed about as often.
 */
export const LATENCY_PENALTY_WEIGHT = 0.05;
export const COST_PENALTY_WEIGHT = 0.05;

/** How outcomes are stored in the metrics table. */
export const OUTCOME_ENTITY_TYPE = 'agent_type';
export const OUTCOME_METRIC = 'outcome';

const AGENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Candidates in one `choose`: a bound on work per call, far above any catalog's size. */
const MAX_CANDIDATES = 1_000;

interface Arm {
  successes: number;
  failures: number;
  latencySum: number;
  costSum: number;
  costCount: number;
}

/**
 * Agent selection that learns from outcomes (issue #5): a Thompson-sampling bandit per kind of task,
 * whose arms are agent types. Each arm's success probability has a Beta(successes + 1, failures + 1)
 * posterior; `choose` draws from each candidate's and takes the best draw, less small penalties for
 * latency and cost. An arm never tried draws from Beta(1, 1), uniform, so new types and new kinds of
 * task get explored, and a type that keeps failing is picked less and less.
 *
 * Outcomes are persisted as metrics (entity `agent_type`, name `outcome`), so what was learnt outlives
 * the process. They are read once, on first use; outcomes recorded by other processes afterwards are
 * seen by a selector created later.
 */
export class AdaptiveSelector {
  private readonly options: AdaptiveSelectorOptions;
  /** Arms by `kind \0 type`. */
  private readonly arms = new Map<string, Arm>();
  private loading: Promise<void> | null = null;

  constructor(options: AdaptiveSelectorOptions) {
    this.options = options;
  }

  /** Picks one of the candidate agent types for a kind of task (see the class comment). */
  async choose(candidates: readonly string[], taskKind: string): Promise<string> {
    return (await this.chooseWithReasons(candidates, taskKind)).type;
  }

  /** Like `choose`, with what the choice was made from: each candidate's record and drawn score. */
  async chooseWithReasons(candidates: readonly string[], taskKind: string): Promise<AgentTypeChoice> {
    checkTaskKind(taskKind);
    if (!Array.isArray(candidates) || candidates.length === 0) {
      throw new ValidationError('candidates: at least one agent type is needed to choose from', { details: { field: 'candidates' } });
    }
    if (candidates.length > MAX_CANDIDATES) {
      throw new ValidationError(`candidates: at most ${MAX_CANDIDATES} agent types, got ${candidates.length}`, { details: { field: 'candidates' } });
    }
    const types = [...new Set(candidates.map((c) => checkAgentType(c, 'candidates')))];
    if (types.length === 1) return { type: types[0] as string, kind: taskKind, by: 'only', candidates: [] };
    await this.load();

    const arms = types.map((type) => ({ type, arm: this.arms.get(armKey(taskKind, type)) }));
    const slowest = Math.max(0, ...arms.map(({ arm }) => (arm ? meanLatency(arm) ?? 0 : 0)));
    const dearest = Math.max(0, ...arms.map(({ arm }) => (arm ? meanCost(arm) ?? 0 : 0)));
    let best = types[0] as string;
    let bestScore = -Infinity;
    const scored: AgentTypeChoice['candidates'] = [];
    for (const { type, arm } of arms) {
      const draw = sampleBeta((arm?.successes ?? 0) + 1, (arm?.failures ?? 0) + 1, this.options.random);
      const latency = arm && slowest > 0 ? (meanLatency(arm) ?? 0) / slowest : 0;
      const cost = arm && dearest > 0 ? (meanCost(arm) ?? 0) / dearest : 0;
      const score = draw - LATENCY_PENALTY_WEIGHT * latency - COST_PENALTY_WEIGHT * cost;
      scored.push({ type, successes: arm?.successes ?? 0, failures: arm?.failures ?? 0, score });
      if (score > bestScore) {
        best = type;
        bestScore = score;
      }
    }
    return { type: best, kind: taskKind, by: 'selector', candidates: scored };
  }

  /** Records an outcome (at `now` unless it says when): persisted first, so a failed write teaches nothing, then learnt. */
  async record(sample: Omit<OutcomeSample, 'at'> & { at?: number }): Promise<void> {
    if (typeof sample !== 'object' || sample === null) throw new ValidationError('an outcome must be an object');
    const checked = checkSample({ ...sample, at: sample.at ?? this.options.now() });
    // Loading first: an outcome written before the load would otherwise be counted twice.
    await this.load();
    const metadata: Record<string, JsonValue> = { taskKind: checked.taskKind, latencyMs: checked.latencyMs, costUsd: checked.costUsd };
    await this.options.store.metrics.record([
      {
        entityType: OUTCOME_ENTITY_TYPE,
        entityId: checked.agentType,
        name: OUTCOME_METRIC,
        value: checked.success ? 1 : 0,
        metadata,
        timestamp: checked.at,
      },
    ]);
    this.learn(checked);
  }

  /** What has been learnt, by kind of task then agent type (optionally one kind only). */
  async stats(query: { taskKind?: string } = {}): Promise<ArmStats[]> {
    if (query.taskKind !== undefined) checkTaskKind(query.taskKind);
    await this.load();
    const out: ArmStats[] = [];
    for (const [key, arm] of this.arms) {
      const [taskKind, agentType] = key.split('\0') as [string, string];
      if (query.taskKind !== undefined && taskKind !== query.taskKind) continue;
      out.push({ agentType, taskKind, successes: arm.successes, failures: arm.failures, meanLatencyMs: meanLatency(arm), meanCostUsd: meanCost(arm) });
    }
    return out.sort((a, b) => compare(a.taskKind, b.taskKind) || compare(a.agentType, b.agentType));
  }

  private load(): Promise<void> {
    this.loading ??= this.options.store.metrics.list({ entityType: OUTCOME_ENTITY_TYPE, name: OUTCOME_METRIC }).then(
      (rows) => {
        for (const row of rows) {
          const sample = sampleFromMetric(row);
          if (sample) this.learn(sample);
        }
      },
      (error: unknown) => {
        // The next call tries again rather than running on an empty history for good.
        this.loading = null;
        throw error;
      },
    );
    return this.loading;
  }

  private learn(sample: OutcomeSample): void {
    const key = armKey(sample.taskKind, sample.agentType);
    let arm = this.arms.get(key);
    if (!arm) {
      arm = { successes: 0, failures: 0, latencySum: 0, costSum: 0, costCount: 0 };
      this.arms.set(key, arm);
    }
    if (sample.success) arm.successes++;
    else arm.failures++;
    arm.latencySum += sample.latencyMs;
    if (sample.costUsd !== null) {
      arm.costSum += sample.costUsd;
      arm.costCount++;
    }
  }
}

function armKey(taskKind: string, agentType: string): string {
  return `${taskKind}\0${agentType}`;
}

function meanLatency(arm: Arm): number | null {
  const n = arm.successes + arm.failures;
  return n === 0 ? null : arm.latencySum / n;
}

function meanCost(arm: Arm): number | null {
  return arm.costCount === 0 ? null : arm.costSum / arm.costCount;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkAgentType(type: unknown, field: string): string {
  if (typeof type !== 'string' || !AGENT_TYPE_PATTERN.test(type)) {
    throw new ValidationError(`${field}: an agent type is 1-64 letters, digits, dot, dash or underscore, got ${JSON.stringify(type) ?? String(type)}`, {
      details: { field },
    });
  }
  return type;
}

function checkSample(sample: OutcomeSample): OutcomeSample {
  const agentType = checkAgentType(sample.agentType, 'agentType');
  const taskKind = checkTaskKind(sample.taskKind);
  if (typeof sample.success !== 'boolean') throw new ValidationError('success must be a boolean', { details: { field: 'success' } });
  if (typeof sample.latencyMs !== 'number' || !Number.isFinite(sample.latencyMs) || sample.latencyMs < 0) {
    throw new ValidationError(`latencyMs must be a non-negative number, got ${String(sample.latencyMs)}`, { details: { field: 'latencyMs' } });
  }
  if (sample.costUsd !== null && (typeof sample.costUsd !== 'number' || !Number.isFinite(sample.costUsd) || sample.costUsd < 0)) {
    throw new ValidationError(`costUsd must be a non-negative number or null, got ${String(sample.costUsd)}`, { details: { field: 'costUsd' } });
  }
  if (typeof sample.at !== 'number' || !Number.isFinite(sample.at)) {
    throw new ValidationError(`at must be a time in epoch ms, got ${String(sample.at)}`, { details: { field: 'at' } });
  }
  return { agentType, taskKind, success: sample.success, latencyMs: sample.latencyMs, costUsd: sample.costUsd, at: sample.at };
}

/** An outcome read back from the metrics table; rows that do not have the shape (written by hand) are skipped. */
function sampleFromMetric(row: MetricSample): OutcomeSample | null {
  const m = row.metadata;
  if (m === null || typeof m.taskKind !== 'string' || typeof m.latencyMs !== 'number') return null;
  const costUsd = typeof m.costUsd === 'number' ? m.costUsd : null;
  try {
    return checkSample({ agentType: row.entityId, taskKind: m.taskKind, success: row.value === 1, latencyMs: m.latencyMs, costUsd, at: row.timestamp });
  } catch {
    return null;
  }
}
