import type { McpToolOutput } from '../../ports/mcp-servers.js';

/**
 * A `tools/call` result as text for the model: its text content, joined; without text, its
 * structured content as JSON; images, audio and binary resources as a short note of what they were.
 */

interface ContentBlock {
  type: string;
  text?: string;
  mimeType?: string;
  data?: string;
  uri?: string;
  name?: string;
  resource?: { uri?: string; text?: string; mimeType?: string; blob?: string };
}

export interface CallToolResultLike {
  content?: unknown;
  structuredContent?: unknown;
  isError?: unknown;
  /** The protocol's first version answered with this instead. */
  toolResult?: unknown;
}

export function toolResultText(result: CallToolResultLike): McpToolOutput {
  const blocks = Array.isArray(result.content) ? (result.content as ContentBlock[]) : [];
  const parts = blocks.map(describeBlock).filter((part) => part !== '');
  let content = parts.join('\n');
  const hasText = blocks.some((block) => block.type === 'text' || (block.type === 'resource' && typeof block.resource?.text === 'string'));
  if (!hasText && result.structuredContent !== undefined) content = [JSON.stringify(result.structuredContent), content].filter((part) => part !== '').join('\n');
  if (content === '' && result.toolResult !== undefined) content = JSON.stringify(result.toolResult);
  if (content === '') content = '(the tool returned no content)';
  return result.isError === true ? { content, isError: true } : { content };
}

function describeBlock(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return block.text ?? '';
    case 'image':
    case 'audio':
      return `[${block.type} ${block.mimeType ?? ''}, ${Math.floor(((block.data ?? '').length * 3) / 4)} bytes, not shown]`;
    case 'resource_link':
      return `[resource ${block.name ?? ''} ${block.uri ?? ''}]`.replace(/\s+/g, ' ');
    case 'resource':
      if (typeof block.resource?.text === 'string') return block.resource.text;
      return `[resource ${block.resource?.uri ?? ''} ${block.resource?.mimeType ?? ''}, binary, not shown]`.replace(/\s+/g, ' ');
    default:
      return `[${block.type} content, not shown]`;
  }
}
