import type { ContentPart, Message } from '../../../ports/provider.js';

/**
 * The prompt a headless Claude Code run reads on stdin. Claude Code takes one user turn per run, so
 * a conversation is rendered as text: a lone user message is sent as it is; anything longer (prior
 * turns, tool calls and their results) becomes a transcript followed by an instruction to answer
 * its last message. The system prompt does not go here: it is passed as a flag.
 */

export const TRANSCRIPT_INTRO = 'The conversation so far, oldest message first:';
export const TRANSCRIPT_OUTRO = 'Continue the conversation: reply to the last user message above.';

export function renderPrompt(messages: readonly Message[]): string {
  const [only] = messages;
  if (messages.length === 1 && only !== undefined && only.role === 'user' && only.content.every((part) => part.type === 'text')) {
    return only.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n\n');
  }
  const turns = messages.map((message) => `<${message.role}>\n${message.content.map(renderPart).join('\n\n')}\n</${message.role}>`);
  return [TRANSCRIPT_INTRO, ...turns, TRANSCRIPT_OUTRO].join('\n\n');
}

function renderPart(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'tool_use':
      return `[tool call ${part.id}: ${part.name} ${safeJson(part.input)}]`;
    case 'tool_result':
      return `[tool result for ${part.toolUseId}${part.isError === true ? ' (error)' : ''}]\n${part.content}`;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}
