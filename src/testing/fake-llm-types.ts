/**
 * Scripting vocabulary of the fake LLM server (see fake-llm-server.ts).
 */

export type FakeStopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';

export interface FakeToolCall {
  name: string;
  input?: unknown;
  id?: string;
  /** Raw argument text sent instead of JSON.stringify(input), e.g. broken JSON from a "model". */
  rawInput?: string;
}

/** A normal model answer. */
export interface FakeMessageReply {
  text?: string;
  toolCalls?: FakeToolCall[];
  usage?: { inputTokens?: number; outputTokens?: number };
  /** Wait this long before answering at all (time to first byte). */
  delayMs?: number;
  /** Defaults to tool_use when there are tool calls, else end_turn. */
  stopReason?: FakeStopReason;
}

export type FakeFault =
  /** 429 with a retry-after header of this many seconds (fractions allowed, for fast tests). */
  | { fault: 'rate_limit'; retryAfterSeconds?: number }
  /** An error status (default 500; any 4xx/5xx works) with the protocol's error body. */
  | { fault: 'server_error'; status?: number; message?: string }
  /** 200 with a body (or SSE event) that is not valid JSON. */
  | { fault: 'malformed_json' }
  /** Starts answering (some text for streams) and then destroys the connection. */
  | { fault: 'drop_mid_stream'; text?: string }
  /** Sends headers at once, then trickles: each SSE event (or the JSON body) after delayMs. */
  | { fault: 'slow'; delayMs: number; text?: string };

export type FakeProtocol = 'anthropic' | 'openai' | 'models' | 'embeddings' | 'unknown';

export interface RecordedRequest {
  method: string;
  path: string;
  protocol: FakeProtocol;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON body, the raw text if it was not JSON, undefined if empty. */
  body: unknown;
  /** Whether the client asked for SSE. */
  stream: boolean;
  /** The client closed the connection before the answer was complete (e.g. it was aborted). */
  clientAborted: boolean;
  receivedAt: number;
}

export type FakeReplyFunction = (request: RecordedRequest) => FakeMessageReply | FakeFault | Promise<FakeMessageReply | FakeFault>;

export type FakeReply = FakeMessageReply | FakeFault | FakeReplyFunction;

export interface FakeLlmServerOptions {
  /** Used when the queue is empty; default `{ text: 'ok' }`. */
  defaultReply?: FakeReply;
  /** Models listed by GET /v1/models; default ['fake-model']. */
  models?: string[];
  /** Embedding length when the request does not ask for one; default 384. */
  embeddingDimensions?: number;
}

export interface FakeLlmServerAddress {
  url: string;
  /** For the Anthropic SDK / ANTHROPIC_BASE_URL: no /v1. */
  anthropicBaseUrl: string;
  /** For the OpenAI SDK / OPENAI_BASE_URL: with /v1. */
  openaiBaseUrl: string;
}

/** A reply with every blank filled in, ready to be written in either protocol. */
export interface ResolvedReply {
  id: string;
  model: string;
  text: string;
  toolCalls: { id: string; name: string; argumentsJson: string; input: unknown }[];
  stopReason: FakeStopReason;
  usage: { inputTokens: number; outputTokens: number };
}

export function isFault(reply: FakeMessageReply | FakeFault): reply is FakeFault {
  return 'fault' in reply;
}
