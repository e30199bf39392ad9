import type { EventBus } from '../../ports/event-bus.js';
import type { AgentRecord } from '../../domain/agent.js';
import type { JsonValue } from '../../domain/json.js';
import { taskCorrelationId, type TaskRecord } from '../../domain/task.js';
import type { ContentPart, TokenUsage } from '../../ports/provider.js';
import type { AgentTurnRole, MetricSample, NewAgentTurn, Store } from '../../ports/store.js';
import { estimateCostUsd } from '../../providers/pricing.js';
import { TURN_EVENT_TEXT_MAX_CHARS } from './runtime-defaults.js';

export const AGENT_RUNTIME_EVENT_SOURCE = 'agent-runtime';

export interface RecordedTurn {
  turn: number;
  role: AgentTurnRole;
  content: ContentPart[];
  usage?: TokenUsage;
  /** The model that produced an assistant turn, as the provider reported it. */
  model?: string;
  /** For a `tool` turn: the names of the tools whose results it holds. */
  toolNames?: string[];
}

export interface RunRecorderOptions {
  store: Store;
  events: EventBus;
  task: TaskRecord;
  agent: AgentRecord | null;
  attempt: number;
  providerId: string;
  model: string;
  now: () => number;
}

/**
 * Everything an agent run leaves behind: transcript rows (awaited, so a turn is durable before the
 * run goes on), `agent.*` and `llm.usage` events, and usage metrics for the task and the agent.
 */
export class RunRecorder {
  readonly #o: RunRecorderOptions;
  readonly #correlationId: string;

  constructor(options: RunRecorderOptions) {
    this.#o = options;
    this.#correlationId = taskCorrelationId(options.task);
  }

  get #agentId(): string | null {
    return this.#o.agent?.id ?? null;
  }

  /** Persists turns in one write, then publishes `agent.turn` for each one but the system prompt. */
  async turns(turns: readonly RecordedTurn[]): Promise<void> {
    const createdAt = this.#o.now();
    const rows: NewAgentTurn[] = turns.map((t) => ({
      taskId: this.#o.task.id,
      agentId: this.#agentId,
      attempt: this.#o.attempt,
      turn: t.turn,
      role: t.role,
      content: t.content,
      usage: t.usage ?? null,
      model: t.model ?? this.#o.model,
      provider: this.#o.providerId,
      createdAt,
    }));
    await this.#o.store.transcripts.appendTurns(rows);
    rows.forEach((row, index) => {
      if (row.role === 'system') return;
      this.#o.events.publish(
        'agent.turn',
        {
          taskId: row.taskId,
          agentId: row.agentId,
          attempt: row.attempt,
          turn: row.turn,
          role: row.role,
          text: preview(row.content),
          toolCalls: turns[index]?.toolNames ?? row.content.flatMap((part) => (part.type === 'tool_use' ? [part.name] : [])),
          usage: row.usage,
        },
        this.#meta(),
      );
    });
  }

  /**
   * Records one model call's usage: metrics for the task and the agent, and an `llm.usage` event.
   * Returns its cost, or null when the model's price is unknown (then no cost metric is written).
   */
  async usage(turn: number, model: string, usage: TokenUsage): Promise<number | null> {
    const costUsd = estimateCostUsd(model, usage) ?? (model === this.#o.model ? null : estimateCostUsd(this.#o.model, usage));
    const timestamp = this.#o.now();
    const metadata: Record<string, JsonValue> = { provider: this.#o.providerId, model, turn, attempt: this.#o.attempt };
    const entities: { entityType: string; entityId: string; metadata: Record<string, JsonValue> }[] = [
      { entityType: 'task', entityId: this.#o.task.id, metadata },
    ];
    if (this.#o.agent) entities.push({ entityType: 'agent', entityId: this.#o.agent.id, metadata: { ...metadata, taskId: this.#o.task.id } });
    const samples: MetricSample[] = [];
    for (const entity of entities) {
      samples.push({ ...entity, name: 'llm.input_tokens', value: usage.inputTokens, timestamp });
      samples.push({ ...entity, name: 'llm.output_tokens', value: usage.outputTokens, timestamp });
      if (costUsd !== null) samples.push({ ...entity, name: 'llm.cost_usd', value: costUsd, timestamp });
    }
    await this.#o.store.metrics.record(samples);
    this.#o.events.publish(
      'llm.usage',
      {
        taskId: this.#o.task.id,
        agentId: this.#agentId,
        provider: this.#o.providerId,
        model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        costUsd,
      },
      this.#meta(),
    );
    return costUsd;
  }

  toolCalled(turn: number, tool: string, ok: boolean, error?: string): void {
    const data = { taskId: this.#o.task.id, agentId: this.#agentId, turn, tool, ok };
    this.#o.events.publish('agent.tool_called', error === undefined ? data : { ...data, error: cut(error, TURN_EVENT_TEXT_MAX_CHARS) }, this.#meta());
  }

  output(text: string): void {
    this.#o.events.publish('agent.output', { taskId: this.#o.task.id, agentId: this.#agentId, text }, this.#meta());
  }

  #meta(): { source: string; correlationId: string } {
    return { source: AGENT_RUNTIME_EVENT_SOURCE, correlationId: this.#correlationId };
  }
}

/** The text of a turn for an event: its text parts, or its tool results. */
function preview(content: readonly ContentPart[]): string {
  const text = content
    .map((part) => (part.type === 'text' ? part.text : part.type === 'tool_result' ? part.content : ''))
    .filter((piece) => piece !== '')
    .join('\n');
  return cut(text, TURN_EVENT_TEXT_MAX_CHARS);
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
