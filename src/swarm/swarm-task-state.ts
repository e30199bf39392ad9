import type { JsonValue } from '../domain/json.js';
import type { Route } from './topologies/topology.js';

/** Where one plan task stands in a running swarm (in memory; rebuilt from the task table on resume). */
export interface SwarmTaskState {
  status: 'waiting' | 'dispatched' | 'reviewing' | 'done' | 'failed' | 'skipped';
  /** The engine task of the latest dispatch. */
  taskId: string | null;
  /** Dispatches after the first (feedback from review, or agents lost). */
  revisions: number;
  /** Dispatches again because the task's agent was terminated under it. */
  lost: number;
  /** Review feedback the next dispatch carries. */
  feedback: string | null;
  /** The result (or failure) as text, cut to a preview, for dependents, reviewers and synthesis. */
  text: string;
  result: JsonValue | null;
  route: Route | null;
}
