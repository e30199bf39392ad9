import type { Logger } from '../../kernel/logger.js';
import type { JsonValue } from '../../domain/json.js';
import type { TaskRecord } from '../../domain/task.js';
import type { EmbedderInfo, MemoryManager, MemorySearchResult, MemorySearchResultHit, SearchMode } from '../../memory/memory-manager.js';
import { MEMORY_NAMESPACE_PATTERN } from '../../ports/memory-store.js';

/**
 * Agents and memory: which namespace a task's memories live in, and the "Relevant memories" section
 * put into an agent's context before its first model call.
 *
 * - A task of a workflow reads and writes `workflow:<workflowId>` (Colony's ids are lower case, so
 *   they fit the namespace pattern); any other task uses `default`.
 * - `shared` is read by every task, and written by agents that ask for it (memory_store `shared`).
 */

export const SHARED_MEMORY_NAMESPACE = 'shared';
export const DEFAULT_MEMORY_NAMESPACE = 'default';

/** Characters of a value shown per memory in the context section. */
export const CONTEXT_VALUE_PREVIEW_CHARS = 240;
/** Characters of a value shown per hit in memory_search results. */
export const SEARCH_VALUE_PREVIEW_CHARS = 600;
/** Characters of the task's prompt used as the context query (a long prompt's opening says what it is about). */
export const CONTEXT_QUERY_MAX_CHARS = 4_000;

/** What the runtime hands the memory tools: the manager and the task's own namespace. */
export interface AgentMemory {
  manager: MemoryManager;
  namespace: string;
}

/** The namespace a task's memories go to: `workflow:<id>` for a workflow's task, else `default`. */
export function taskMemoryNamespace(task: Pick<TaskRecord, 'workflowId'>): string {
  if (task.workflowId === null) return DEFAULT_MEMORY_NAMESPACE;
  const namespace = `workflow:${task.workflowId}`;
  // A workflow id chosen by a library caller may not fit (upper case, too long): fall back.
  return MEMORY_NAMESPACE_PATTERN.test(namespace) ? namespace : DEFAULT_MEMORY_NAMESPACE;
}

/** The namespaces a task searches: its own, then `shared`. */
export function taskSearchNamespaces(task: Pick<TaskRecord, 'workflowId'>): string[] {
  const own = taskMemoryNamespace(task);
  return own === SHARED_MEMORY_NAMESPACE ? [own] : [own, SHARED_MEMORY_NAMESPACE];
}

export interface MemoryContextOptions {
  /** The colony's memory (opened on first use); undefined when it is unavailable. */
  memory: () => Promise<MemoryManager | undefined>;
  /** Memories to include (config `memory.contextMemories`); 0 turns the section off. */
  limit: number;
  logger?: Logger;
}

/**
 * The "Relevant memories" section for a task: a hybrid search (keyword + embedder) of the task's
 * namespace and `shared`, with the task's prompt as the query. Falls back to keyword search when
 * the embedder fails (a remote one may be down); a memory failure never fails the task, it only
 * leaves the section out (with a warning in the log).
 */
export async function memoryContext(task: TaskRecord, options: MemoryContextOptions): Promise<string | undefined> {
  if (options.limit <= 0) return undefined;
  const query = promptOf(task)?.slice(0, CONTEXT_QUERY_MAX_CHARS);
  if (query === undefined || query.trim() === '') return undefined;
  try {
    const memory = await options.memory();
    if (memory === undefined) return undefined;
    const namespaces = taskSearchNamespaces(task);
    if (!(await holdsAny(memory, namespaces))) return undefined;
    let result: MemorySearchResult;
    try {
      result = await memory.search(query, { namespaces, limit: options.limit, mode: 'hybrid' });
    } catch (error) {
      options.logger?.warn({ err: error, taskId: task.id }, 'memory context: hybrid search failed; using keyword search');
      result = await memory.search(query, { namespaces, limit: options.limit, mode: 'keyword' });
    }
    return renderMemoryContext(result, namespaces);
  } catch (error) {
    options.logger?.warn({ err: error, taskId: task.id }, 'memory context: search failed; the agent runs without memories');
    return undefined;
  }
}

/** The compact section: one line per memory (address, who found it, value preview); undefined for no hits. */
export function renderMemoryContext(result: MemorySearchResult, namespaces: readonly string[]): string | undefined {
  if (result.hits.length === 0) return undefined;
  const embedder = result.embedder === null ? '' : ` Embedder: ${embedderLabel(result.embedder)}.`;
  const lines = [
    'Relevant memories',
    `Found by a ${result.mode} search of ${namespaces.join(', ')} with the task as the query.${embedder} memory_retrieve gives a full value; memory_search finds more.`,
  ];
  for (const hit of result.hits) {
    lines.push(`- ${hit.entry.namespace}/${hit.entry.key} [found by ${foundBy(hit, result.embedder)}]: ${previewValue(hit.entry.value, CONTEXT_VALUE_PREVIEW_CHARS)}`);
  }
  return lines.join('\n');
}

/** `model (local lexical embedder)` for the built-in embedder, `model` for a real one. */
export function embedderLabel(embedder: EmbedderInfo): string {
  return embedder.local ? `${embedder.model} (local lexical embedder)` : embedder.model;
}

/** Which rankings found a hit: `keyword`, the embedder's model, or both. */
export function foundBy(hit: MemorySearchResultHit, embedder: EmbedderInfo | null): string {
  return hit.matchedBy.map((by) => (by === 'semantic' && embedder !== null ? embedder.model : by)).join(' + ');
}

/** A value on one line, cut to `max` characters: strings as they are, anything else as JSON. */
export function previewValue(value: JsonValue, max: number): string {
  const text = (typeof value === 'string' ? value : JSON.stringify(value)).replace(/\s+/g, ' ').trim();
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function isSearchMode(mode: string): mode is SearchMode {
  return mode === 'keyword' || mode === 'semantic' || mode === 'hybrid';
}

/**
 * Whether any of the namespaces holds a live memory. Most tasks' namespaces hold none, and then a
 * search (which embeds the prompt first) finds nothing. A count of an empty namespace is one index
 * probe, several times cheaper than reading its first entry; of a full one, it reads the entries once,
 * less than the search's vector scan of them that follows.
 */
async function holdsAny(memory: MemoryManager, namespaces: readonly string[]): Promise<boolean> {
  for (const namespace of namespaces) if ((await memory.count({ namespace })) > 0) return true;
  return false;
}

function promptOf(task: TaskRecord): string | undefined {
  const input = task.input;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const prompt = (input as Record<string, JsonValue>).prompt;
  return typeof prompt === 'string' ? prompt : undefined;
}
