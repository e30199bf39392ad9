import { z } from 'zod';
import { MAX_MEMORY_TTL_MS } from '../../../domain/bounds.js';
import type { JsonValue } from '../../../domain/json.js';
import { MAX_MEMORY_KEY_LENGTH, MAX_MEMORY_TAG_LENGTH, MAX_MEMORY_TAGS } from '../../../ports/memory-store.js';
import {
  SEARCH_VALUE_PREVIEW_CHARS,
  SHARED_MEMORY_NAMESPACE,
  embedderLabel,
  foundBy,
  previewValue,
  taskSearchNamespaces,
} from '../memory-context.js';
import { defineTool, type ToolOutput } from './agent-tool.js';

/**
 * The memory tools: memory_store, memory_retrieve and memory_search, over the colony's
 * MemoryManager. A task writes to its own namespace (`workflow:<id>`, or `default`), or to `shared`
 * when it asks; it searches both. Offered to every agent when the run has memory (see tool-names).
 * The manager validates everything again (size, TTL, tags); what it refuses comes back to the model
 * as an error result naming the problem, and nothing is written.
 */

/** Results memory_search returns unless asked for more, and at most. */
export const MEMORY_SEARCH_DEFAULT_LIMIT = 5;
export const MEMORY_SEARCH_MAX_LIMIT = 50;

const key = z.string().min(1).max(MAX_MEMORY_KEY_LENGTH).describe('The memory\'s key, e.g. "api-conventions" or "bug:1234"');
const shared = z.boolean().optional().describe('true: the `shared` namespace, which every task reads; default: this task\'s own namespace');

export const memoryStoreTool = defineTool({
  name: 'memory_store',
  description:
    'Remember something for later tasks and other agents: a decision, a fact about the code, a result. Stored under `key` in this task\'s namespace (or `shared`, read by every task), replacing what was there. Later tasks see relevant memories in their context.',
  input: z.object({
    key,
    value: z
      .unknown()
      .refine((value) => value !== undefined, 'a value is required')
      .describe('What to remember: a string or any JSON value'),
    tags: z.array(z.string().min(1).max(MAX_MEMORY_TAG_LENGTH)).max(MAX_MEMORY_TAGS).optional().describe('Labels to filter by later'),
    ttl_seconds: z
      .number()
      .positive()
      .max(MAX_MEMORY_TTL_MS / 1000)
      .optional()
      .describe('Forget it after this many seconds (at most ten years); default: keep it'),
    shared,
  }),
  async run(input, context) {
    const memory = context.memory;
    if (memory === undefined) return unavailable;
    const namespace = input.shared === true ? SHARED_MEMORY_NAMESPACE : memory.namespace;
    const metadata: Record<string, JsonValue> = { taskId: context.task.id };
    if (context.agent !== null) metadata.agentId = context.agent.id;
    const entry = await memory.manager.store(namespace, input.key, input.value as JsonValue, {
      ...(input.tags === undefined ? {} : { tags: input.tags }),
      ...(input.ttl_seconds === undefined ? {} : { ttlMs: input.ttl_seconds * 1000 }),
      metadata,
    });
    const expiry = entry.expiresAt === null ? '' : `, expires ${new Date(entry.expiresAt).toISOString()}`;
    return `Stored ${entry.namespace}/${entry.key} (version ${entry.version}, ${entry.size} bytes${expiry}).`;
  },
});

export const memoryRetrieveTool = defineTool({
  name: 'memory_retrieve',
  description: 'Read one memory by its exact key, from this task\'s namespace (or `shared`). Use memory_search when you do not know the key.',
  input: z.object({ key, shared }),
  async run(input, context) {
    const memory = context.memory;
    if (memory === undefined) return unavailable;
    const namespace = input.shared === true ? SHARED_MEMORY_NAMESPACE : memory.namespace;
    const entry = await memory.manager.retrieve(namespace, input.key);
    if (entry === undefined) {
      return `No memory ${namespace}/${input.key} (never stored, deleted or expired).${input.shared === true ? '' : ' Pass shared: true to read the shared namespace.'}`;
    }
    return JSON.stringify({
      namespace: entry.namespace,
      key: entry.key,
      value: entry.value,
      version: entry.version,
      tags: entry.tags,
      updatedAt: new Date(entry.updatedAt).toISOString(),
      expiresAt: entry.expiresAt === null ? null : new Date(entry.expiresAt).toISOString(),
    });
  },
});

export const memorySearchTool = defineTool({
  name: 'memory_search',
  description:
    'Search memories of this task\'s namespace and `shared`, best first. `hybrid` (default) combines keyword matching (BM25) with the embedder\'s similarity; `keyword` matches words only; `semantic` uses the embedder only.',
  input: z.object({
    query: z.string().min(1).max(10_000).describe('Words to look for'),
    limit: z.number().int().min(1).max(MEMORY_SEARCH_MAX_LIMIT).optional().describe(`How many results (default ${MEMORY_SEARCH_DEFAULT_LIMIT})`),
    mode: z.enum(['keyword', 'semantic', 'hybrid']).optional(),
  }),
  async run(input, context) {
    const memory = context.memory;
    if (memory === undefined) return unavailable;
    const namespaces = taskSearchNamespaces(context.task);
    const result = await memory.manager.search(input.query, {
      namespaces,
      limit: input.limit ?? MEMORY_SEARCH_DEFAULT_LIMIT,
      mode: input.mode ?? 'hybrid',
    });
    const how = result.embedder === null ? 'keyword search' : `${result.mode} search, embedder ${embedderLabel(result.embedder)}`;
    if (result.hits.length === 0) return `No memories match (${how} of ${namespaces.join(', ')}).`;
    const lines = [`${result.hits.length} memor${result.hits.length === 1 ? 'y' : 'ies'} (${how} of ${namespaces.join(', ')}), best first:`];
    for (const hit of result.hits) {
      lines.push(
        `- ${hit.entry.namespace}/${hit.entry.key} (version ${hit.entry.version}${hit.entry.tags.length > 0 ? `, tags ${hit.entry.tags.join(', ')}` : ''}; found by ${foundBy(hit, result.embedder)}): ${previewValue(hit.entry.value, SEARCH_VALUE_PREVIEW_CHARS)}`,
      );
    }
    return lines.join('\n');
  },
});

export const MEMORY_TOOLS = [memoryStoreTool, memoryRetrieveTool, memorySearchTool] as const;

const unavailable: ToolOutput = { isError: true, content: 'memory is not available in this run' };
