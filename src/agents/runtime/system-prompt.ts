import type { AgentRecord, AgentTypeDefinition } from '../../domain/agent.js';
import type { TaskRecord } from '../../domain/task.js';
import type { AgentLimits } from './agent-runtime.js';
import type { AgentTool } from './tools/agent-tool.js';

export interface PromptInput {
  agentType: AgentTypeDefinition;
  agent: AgentRecord | null;
  task: TaskRecord;
  workspace: string;
  tools: readonly AgentTool[];
  limits: AgentLimits;
}

/** The system prompt: a short Colony preamble (where, what, how to finish), then the agent type's own prompt. */
export function buildSystemPrompt(input: PromptInput): string {
  const who = input.agent ? `agent ${input.agent.id} ("${input.agent.name}"), of type "${input.agentType.name}"` : `an agent of type "${input.agentType.name}"`;
  const names = input.tools.map((tool) => tool.name);
  const lines = [
    '# Colony',
    `You are ${who} in a Colony swarm, working on task ${input.task.id}.`,
    `- Workspace: ${input.workspace}. File tools take paths relative to it; paths outside it are refused.`,
    `- Your tools: ${names.join(', ')}.`,
    '- When you are done, call report_result with your result. If you stop without calling a tool, your last message is taken as the result.',
    `- You have at most ${input.limits.maxTurns} turns and ${input.limits.maxTokens} tokens for this task.`,
  ];
  if (names.includes('send_message')) lines.push('- Other agents can message you: check read_inbox when coordination matters.');
  if (names.includes('memory_store')) {
    lines.push('- Memory outlives this task: memory_store what later tasks should know (shared: true for every workflow); memory_search and memory_retrieve read it.');
  }
  const own = input.agentType.systemPrompt.trim();
  return own === '' ? lines.join('\n') : `${lines.join('\n')}\n\n${own}`;
}

/** The first user message: the context (memories, results of dependencies), then the task itself. */
export function buildTaskMessage(prompt: string, context: string | undefined): string {
  if (context === undefined || context.trim() === '') return prompt;
  return `## Context\n${context.trim()}\n\n## Task\n${prompt}`;
}
