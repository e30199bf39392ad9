import type { FakeMessageReply, FakeReplyFunction, RecordedRequest } from '../../src/testing/fake-llm-server.js';

/** What a scripted swarm model answers for each kind of call; every field has a sensible default. */
export interface SwarmModelScript {
  plan?: (objective: string, request: RecordedRequest) => unknown;
  domains?: unknown;
  review?: (text: string) => unknown;
  vote?: (text: string) => unknown;
  worker?: (prompt: string) => string;
  synthesis?: (text: string) => string;
  usage?: { inputTokens: number; outputTokens: number };
}

/** The user message text of an Anthropic or OpenAI request (all text parts joined). */
export function requestText(request: RecordedRequest): string {
  const body = request.body as { messages?: { content: unknown }[] };
  const parts: string[] = [];
  for (const m of body.messages ?? []) {
    if (typeof m.content === 'string') parts.push(m.content);
    else if (Array.isArray(m.content)) for (const c of m.content as { type: string; text?: string; content?: unknown }[]) if (c.text) parts.push(c.text);
  }
  return parts.join('\n');
}

/** The tool the request forces (Anthropic `tool_choice.name` or OpenAI `tool_choice.function.name`). */
export function forcedTool(request: RecordedRequest): string | undefined {
  const choice = (request.body as { tool_choice?: { name?: string; function?: { name?: string } } }).tool_choice;
  return choice?.name ?? choice?.function?.name;
}

export const DEFAULT_PLAN = {
  summary: 'research then build then test',
  tasks: [
    { id: 'research', title: 'Research the problem', prompt: 'Find out what is needed', agentType: 'researcher', dependsOn: [], kind: 'research' },
    { id: 'build', title: 'Build it', prompt: 'Write the code', agentType: 'coder', dependsOn: ['research'], kind: 'implement' },
    { id: 'test', title: 'Test it', prompt: 'Write the tests', agentType: 'tester', dependsOn: ['build'], kind: 'test' },
  ],
};

/** A reply function that plays every role of a swarm: planner, root, queen, voter, worker, aggregator. */
export function swarmModel(script: SwarmModelScript = {}): FakeReplyFunction {
  return (request) => {
    const text = requestText(request);
    const tool = forcedTool(request);
    const usage = script.usage ?? { inputTokens: 10, outputTokens: 5 };
    const call = (name: string, input: unknown): FakeMessageReply => ({ toolCalls: [{ name, input }], usage });
    if (tool === 'submit_plan') return call('submit_plan', script.plan ? script.plan(text, request) : DEFAULT_PLAN);
    if (tool === 'submit_domains') {
      return call('submit_domains', script.domains ?? { domains: [{ name: 'frontend', objective: 'the UI' }, { name: 'backend', objective: 'the API' }] });
    }
    if (tool === 'review_result') return call('review_result', script.review ? script.review(text) : { verdict: 'accept', feedback: 'good' });
    if (tool === 'cast_vote') return call('cast_vote', script.vote ? script.vote(text) : { decision: 'approve', confidence: 0.9, reason: 'looks right' });
    if (text.includes('Synthesize one answer')) return { text: script.synthesis ? script.synthesis(text) : `SYNTHESIS of ${text.length} chars`, usage };
    return { text: script.worker ? script.worker(text) : `worker result for: ${text.split('\n').find((l) => l.startsWith('Your task')) ?? 'task'}`, usage };
  };
}
