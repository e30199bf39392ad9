import { z } from 'zod';
import type { AgentTypeDefinition } from '../../domain/agent.js';
import { ValidationError } from '../../domain/errors.js';
import { readFrontmatter } from './frontmatter.js';

/** Agent type names are ids in CLI arguments, task requirements and file names: keep them plain. */
export const AGENT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
const CAPABILITY_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const DEFAULT_AGENT_MAX_CONCURRENCY = 1;
/** A ceiling that catches typos (`max_concurrency: 1000`) rather than a limit of the engine. */
export const MAX_AGENT_MAX_CONCURRENCY = 64;

/** "is required" when absent, otherwise what the key should have been. */
function expected(what: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined || issue.input === null ? 'is required' : `must be ${what}`);
}

/**
 * The frontmatter keys Claude Code defines (name, description, tools, model) plus Colony's own
 * (capabilities, max_concurrency, network). z.object drops unknown keys, so Claude Code's `color` and any
 * future keys are ignored rather than rejected.
 */
const frontmatterSchema = z.object({
  name: z
    .string({ error: expected('a string') })
    .regex(AGENT_NAME_PATTERN, 'must be kebab-case: lowercase letters, digits and "-", starting with a letter or digit, at most 64 characters'),
  description: z.string({ error: expected('a string') }).trim().min(1, 'must not be empty'),
  // Claude Code writes `tools: Read, Grep, Glob`; YAML lists are accepted too.
  tools: z
    .union([z.string(), z.array(z.string({ error: 'must contain only tool names (strings)' }))], {
      error: 'must be a comma-separated string or a list of tool names',
    })
    .nullish(),
  model: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').nullish(),
  capabilities: z
    .array(z.string({ error: 'must contain only strings' }).regex(CAPABILITY_PATTERN, 'must contain only kebab-case words'), {
      error: 'must be a YAML list of capability words',
    })
    .nullish(),
  max_concurrency: z
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(MAX_AGENT_MAX_CONCURRENCY, `must be at most ${MAX_AGENT_MAX_CONCURRENCY}`)
    .nullish(),
  network: z.boolean({ error: 'must be true or false' }).nullish(),
});

/**
 * Parses one agent type file (Markdown with YAML frontmatter, the `.claude/agents/*.md` format).
 * Throws ValidationError naming the file and the offending key; never returns a partial definition.
 */
export function parseAgentFile(text: string, path: string, source: AgentTypeDefinition['source']): AgentTypeDefinition {
  const { data, body } = readFrontmatter(text, path);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ValidationError(`${path}: the frontmatter must be a YAML mapping of keys to values`, { details: { path } });
  }
  const parsed = frontmatterSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ key: formatKey(issue.path), message: issue.message }));
    const summary = issues.map((issue) => `"${issue.key}" ${issue.message}`).join('; ');
    throw new ValidationError(`${path}: invalid frontmatter: ${summary}`, { details: { path, issues } });
  }
  const systemPrompt = body.trim();
  if (systemPrompt === '') {
    throw new ValidationError(`${path}: the body after the frontmatter is empty; it is the agent's system prompt`, {
      details: { path },
    });
  }
  return toDefinition(parsed.data, systemPrompt, source, path);
}

function toDefinition(fields: z.output<typeof frontmatterSchema>, systemPrompt: string, source: AgentTypeDefinition['source'], path: string): AgentTypeDefinition {
  return {
    name: fields.name,
    description: fields.description,
    tools: normalizeTools(fields.tools),
    // `inherit` in Claude Code means "the caller's model"; in Colony that is the configured default,
    // which null already means, so downstream code has one value to handle instead of two.
    model: fields.model == null || fields.model === 'inherit' ? null : fields.model,
    capabilities: [...new Set(fields.capabilities ?? [])],
    maxConcurrency: fields.max_concurrency ?? DEFAULT_AGENT_MAX_CONCURRENCY,
    ...(fields.network == null ? {} : { network: fields.network }),
    systemPrompt,
    source,
    path,
  };
}

/**
 * An agent type defined in code (`colony.agentTypes.register`): the frontmatter's fields, camelCased,
 * plus the system prompt the Markdown body would hold.
 */
export interface AgentTypeInput {
  name: string;
  description: string;
  /** Tool names (Claude Code's or Colony's, or registered custom tools); a list or a comma-separated string. Default: the runtime's default set. */
  tools?: string | string[] | null;
  model?: string | null;
  capabilities?: string[] | null;
  maxConcurrency?: number | null;
  network?: boolean | null;
  systemPrompt: string;
}

const CODE_KEYS: Readonly<Record<keyof AgentTypeInput, string>> = {
  name: 'name',
  description: 'description',
  tools: 'tools',
  model: 'model',
  capabilities: 'capabilities',
  maxConcurrency: 'max_concurrency',
  network: 'network',
  systemPrompt: 'systemPrompt',
};

/** Where agent types defined in code say they come from (their `path`). */
export const CODE_AGENT_PATH_PREFIX = 'code:';

/**
 * Validates an agent type defined in code with the same rules as an agent file's frontmatter.
 * Throws ValidationError naming the offending field (in the code's spelling); unknown fields are
 * rejected too (a typo in code is a mistake, not Claude Code's `color`).
 */
export function parseAgentTypeInput(input: AgentTypeInput): AgentTypeDefinition {
  const label = `agent type ${JSON.stringify(typeof input?.name === 'string' ? input.name : null)}`;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ValidationError('an agent type definition must be an object');
  const unknown = Object.keys(input).filter((key) => !Object.hasOwn(CODE_KEYS, key));
  if (unknown.length > 0) {
    throw new ValidationError(`${label}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')}; known fields: ${Object.keys(CODE_KEYS).join(', ')}`, {
      details: { issues: unknown.map((key) => ({ key, message: 'is not a known field' })) },
    });
  }
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (key !== 'systemPrompt') data[CODE_KEYS[key as keyof AgentTypeInput]] = value;
  const fromFrontmatter = Object.fromEntries(Object.entries(CODE_KEYS).map(([code, front]) => [front, code]));
  const parsed = frontmatterSchema.safeParse(data);
  const issues = parsed.success ? [] : parsed.error.issues.map((issue) => ({ key: renameKey(formatKey(issue.path), fromFrontmatter), message: issue.message }));
  const systemPrompt = typeof input.systemPrompt === 'string' ? input.systemPrompt.trim() : '';
  if (systemPrompt === '') issues.push({ key: 'systemPrompt', message: input.systemPrompt === undefined ? 'is required' : 'must be a non-empty string' });
  if (!parsed.success || issues.length > 0) {
    const summary = issues.map((issue) => `"${issue.key}" ${issue.message}`).join('; ');
    throw new ValidationError(`${label}: invalid definition: ${summary}`, { details: { issues } });
  }
  return toDefinition(parsed.data, systemPrompt, 'project', `${CODE_AGENT_PATH_PREFIX}${parsed.data.name}`);
}

function renameKey(key: string, names: Readonly<Record<string, string | undefined>>): string {
  const head = key.split(/[.[]/)[0] ?? key;
  const renamed = names[head];
  return renamed === undefined ? key : `${renamed}${key.slice(head.length)}`;
}

/** Absent or empty means "the runtime's default tool set" (Claude Code: inherit all tools). */
function normalizeTools(tools: string | string[] | null | undefined): string[] {
  if (tools == null) return [];
  const names = (typeof tools === 'string' ? tools.split(',') : tools).map((name) => name.trim()).filter((name) => name !== '');
  return [...new Set(names)];
}

function formatKey(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('') || '(frontmatter)';
}
