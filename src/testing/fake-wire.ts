import type { RecordedRequest, ResolvedReply } from './fake-llm-types.js';

/** What the fake server needs from each wire protocol. */
export interface FakeWire {
  /** Prefixes of generated ids, as the real APIs spell them. */
  readonly messageIdPrefix: string;
  readonly toolIdPrefix: string;
  /** The non-streaming response body. */
  json(reply: ResolvedReply, request: RecordedRequest): unknown;
  /** The complete SSE stream, one string per event, each ending in a blank line. */
  sseFrames(reply: ResolvedReply, request: RecordedRequest): string[];
  /** An error response body in the protocol's shape. */
  errorBody(status: number, message: string, requestId: string): unknown;
  /** SSE `event:` name of a content delta (Anthropic names its events; OpenAI does not). */
  readonly deltaEventName: string | undefined;
  /** The name of the header carrying the request id. */
  readonly requestIdHeader: string;
}

/** Text goes out in small pieces so that clients really assemble deltas. */
export const TEXT_PIECE_CHARS = 6;
/** Tool arguments go out in even smaller pieces: splitting mid-token is the hard case. */
export const JSON_PIECE_CHARS = 5;

export function pieces(text: string, size: number): string[] {
  const result: string[] = [];
  for (let start = 0; start < text.length; start += size) result.push(text.slice(start, start + size));
  return result;
}

export function sseData(data: unknown, event?: string): string {
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** Roughly four characters per token, the APIs' own rule of thumb. */
const CHARS_PER_TOKEN = 4;

export function estimateTokens(characters: number): number {
  return Math.max(1, Math.ceil(characters / CHARS_PER_TOKEN));
}
