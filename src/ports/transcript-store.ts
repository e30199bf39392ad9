import type { JsonValue } from '../domain/json.js';
import type { ContentPart, TokenUsage } from './provider.js';

/**
 * The TranscriptStore port: what a task attempt leaves behind, its agent's transcript (every message
 * of the tool-use loop) and the journal of its file writes (so that the task can be rolled back).
 * Conformance: `test/conformance/transcript-store.ts`.
 */
export interface TranscriptStore {
  /** Appends turns in order; returns their ids. The task must exist. */
  appendTurns(turns: readonly NewAgentTurn[]): Promise<number[]>;
  /** A task's turns in the order they were appended, optionally of one attempt only. */
  listTurns(query: { taskId: string; attempt?: number }): Promise<AgentTurn[]>;
  /** Stores (or replaces) the task's serialised FileJournal. The task must exist. */
  saveJournal(taskId: string, journal: JsonValue, updatedAt: number): Promise<void>;
  getJournal(taskId: string): Promise<JsonValue | undefined>;
  /** Removes the task's journal; no error when there is none. */
  deleteJournal(taskId: string): Promise<void>;
}

/** Who speaks in a transcript turn: `tool` holds the results of the assistant's tool calls. */
export type AgentTurnRole = 'system' | 'user' | 'assistant' | 'tool';

export interface NewAgentTurn {
  taskId: string;
  agentId: string | null;
  /** The task attempt (1-based) the turn belongs to. */
  attempt: number;
  /** The model round-trip it belongs to: 0 for the system prompt and the task prompt, then 1, 2, ... */
  turn: number;
  role: AgentTurnRole;
  content: ContentPart[];
  /** Token usage of the model call that produced an assistant turn; null otherwise. */
  usage: TokenUsage | null;
  model: string | null;
  provider: string | null;
  createdAt: number;
}

export interface AgentTurn extends NewAgentTurn {
  id: number;
}
