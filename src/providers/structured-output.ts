import { z } from 'zod';
import { ExecutionError } from '../domain/errors.js';
import { isInvalidToolInput, type ContentPart, type Message, type Provider, type TokenUsage } from '../ports/provider.js';
import { describeIssues } from './zod-issues.js';

/** Times an invalid answer is sent back to the model for repair before the call fails. */
export const STRUCTURED_OUTPUT_MAX_REPAIRS = 2;
/** Generated-token bound of one structured call (a plan of many tasks needs room). */
export const STRUCTURED_OUTPUT_MAX_TOKENS = 16_000;

export interface StructuredCall<T> {
  provider: Provider;
  model: string;
  system?: string;
  /** The conversation so far; usually one user message with the question. */
  messages: Message[];
  /** The tool the model must call; its arguments are the answer. */
  tool: { name: string; description: string; schema: z.ZodType<T> };
  /**
   * Rewrites the raw answer into the schema's form where only the form differs (a name's case, an
   * enum in other words, extra fields), before it is validated; meaning is never invented here.
   */
  normalize?: (raw: unknown) => unknown;
  /** A check beyond the schema (e.g. a plan's dependencies): the problem in words, or undefined. */
  check?: (value: T) => string | undefined;
  maxRepairs?: number;
  maxTokens?: number;
  signal?: AbortSignal;
  /** Called with each model call's usage, so that budgets count repairs too. */
  onUsage?: (usage: TokenUsage) => void;
}

export interface StructuredAnswer<T> {
  value: T;
  /** Model calls it took (1 when the first answer was valid). */
  attempts: number;
  usage: TokenUsage;
}

/**
 * Structured output: the model is made to call one tool whose input schema is the answer's, the
 * input is validated with zod (and `check`), and an invalid answer goes back to the model as an
 * error tool result, a bounded number of times. Models or adapters that cannot be forced to call a
 * tool (Claude Code) may answer with the JSON in text instead; that is accepted too.
 */
export async function callStructured<T>(call: StructuredCall<T>): Promise<StructuredAnswer<T>> {
  const maxRepairs = call.maxRepairs ?? STRUCTURED_OUTPUT_MAX_REPAIRS;
  const inputSchema = jsonSchemaOf(call.tool.schema);
  const messages = [...call.messages];
  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  let problem = '';
  for (let attempt = 1; attempt <= maxRepairs + 1; attempt++) {
    const response = await call.provider.complete({
      model: call.model,
      ...(call.system === undefined ? {} : { system: call.system }),
      messages,
      tools: [{ name: call.tool.name, description: call.tool.description, inputSchema }],
      toolChoice: { name: call.tool.name },
      maxTokens: call.maxTokens ?? STRUCTURED_OUTPUT_MAX_TOKENS,
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
    usage.inputTokens += response.usage.inputTokens;
    usage.outputTokens += response.usage.outputTokens;
    call.onUsage?.(response.usage);

    const toolUse = response.content.find((p): p is Extract<ContentPart, { type: 'tool_use' }> => p.type === 'tool_use' && p.name === call.tool.name);
    const raw = toolUse ? unwrapInput(toolUse.input) : jsonInText(textOf(response.content));
    const verdict = judge(raw, call);
    if (verdict.ok) return { value: verdict.value, attempts: attempt, usage };
    problem = verdict.problem;

    messages.push({ role: 'assistant', content: response.content.length > 0 ? response.content : [{ type: 'text', text: '(no answer)' }] });
    const fix = `That answer is not valid: ${problem}. Call ${call.tool.name} again with corrected arguments.`;
    const answered = response.content.filter((p) => p.type === 'tool_use');
    messages.push({
      role: 'user',
      content:
        answered.length > 0
          ? answered.map((p) => ({ type: 'tool_result' as const, toolUseId: p.id, content: p.name === call.tool.name ? fix : `unknown tool ${p.name}`, isError: true }))
          : [{ type: 'text', text: fix }],
    });
  }
  throw new InvalidModelOutputError(`the model gave no valid ${call.tool.name} answer in ${maxRepairs + 1} attempts; last problem: ${problem}`, {
    retryable: false,
    details: { tool: call.tool.name, attempts: maxRepairs + 1 },
  });
}

/** The model answered, but never validly: asking another agent on the same model will not help. */
export class InvalidModelOutputError extends ExecutionError {
  constructor(message: string, options: ConstructorParameters<typeof ExecutionError>[1]) {
    super(message, options);
    this.name = 'InvalidModelOutputError';
  }
}

function judge<T>(raw: unknown, call: StructuredCall<T>): { ok: true; value: T } | { ok: false; problem: string } {
  if (raw === undefined) return { ok: false, problem: `no ${call.tool.name} call and no JSON object in the text` };
  if (isInvalidToolInput(raw)) return { ok: false, problem: 'the arguments are not valid JSON' };
  const parsed = call.tool.schema.safeParse(call.normalize ? call.normalize(raw) : raw);
  if (!parsed.success) return { ok: false, problem: describeIssues(parsed.error) };
  const problem = call.check?.(parsed.data);
  return problem === undefined ? { ok: true, value: parsed.data } : { ok: false, problem };
}

function textOf(content: readonly ContentPart[]): string {
  return content
    .filter((p) => p.type === 'text')
    .map((p) => p.text)
    .join('\n');
}

/**
 * Tool arguments as the answer: arguments that came as a JSON string (double-encoded), or as
 * unparsable text with the JSON inside prose or a code fence, are read for the object they hold.
 */
function unwrapInput(input: unknown): unknown {
  const text = typeof input === 'string' ? input : isInvalidToolInput(input) ? input.__invalidJson : null;
  if (text === null) return input;
  return jsonInText(text) ?? input;
}

/** The JSON object in the text: in a code fence, or the first balanced `{…}` that parses, with prose around it. */
export function jsonInText(text: string): unknown {
  const fenced = /```(?:json|JSON)?\s*([\s\S]*?)```/.exec(text)?.[1];
  if (fenced !== undefined) {
    const value = parseObject(fenced.trim());
    if (value !== undefined) return value;
  }
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = balancedEnd(text, start);
    if (end === -1) continue;
    const value = parseObject(text.slice(start, end + 1));
    if (value !== undefined) return value;
  }
  return undefined;
}

function parseObject(candidate: string): unknown {
  try {
    const value = JSON.parse(candidate) as unknown;
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The index of the brace that closes the one at `start` (strings skipped), or -1. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}
