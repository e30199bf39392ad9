import type { AgentTool } from './tools/agent-tool.js';
import { isMcpToolName } from './mcp-tool-names.js';
import { editFileTool, listFilesTool, readFileTool, searchFilesTool, writeFileTool } from './tools/file-tools.js';
import { readInboxTool, sendMessageTool } from './tools/message-tools.js';
import { memoryRetrieveTool, memorySearchTool, memoryStoreTool } from './tools/memory-tools.js';
import { reportResultTool } from './tools/report-tool.js';
import { runShellTool } from './tools/shell-tool.js';
import { createSubtaskTool } from './tools/subtask-tool.js';

/**
 * Which tools an agent gets. Agent files use Claude Code's tool names (`tools: Read, Grep, Bash`);
 * they map onto Colony's tools here. Colony's own names are accepted too. Names with no Colony
 * equivalent (WebFetch, WebSearch, TodoWrite, ...) are reported as unsupported and skipped.
 *
 * - An empty list means the default set: every workspace tool, the shell and subtasks.
 * - `report_result` is always available.
 * - The messaging tools are offered whenever the run has an agent identity (they are Colony's own
 *   coordination, with no Claude Code name).
 * - `create_subtask` is offered only when the run can submit subtasks.
 * - The memory tools (memory_store, memory_retrieve, memory_search) are offered to every agent
 *   whenever the run has memory (Colony's own, like messaging, with no Claude Code name).
 */

/** Every tool, in the order they are presented to the model. */
export const AGENT_TOOLS: readonly AgentTool[] = [
  readFileTool,
  writeFileTool,
  editFileTool,
  listFilesTool,
  searchFilesTool,
  runShellTool,
  createSubtaskTool,
  sendMessageTool,
  readInboxTool,
  memoryStoreTool,
  memoryRetrieveTool,
  memorySearchTool,
  reportResultTool,
];

/** Claude Code tool name → Colony tools. */
export const CLAUDE_CODE_TOOL_NAMES: Readonly<Record<string, readonly string[]>> = {
  Read: ['read_file'],
  NotebookRead: ['read_file'],
  Write: ['write_file'],
  Edit: ['edit_file'],
  MultiEdit: ['edit_file'],
  Glob: ['list_files'],
  LS: ['list_files'],
  Grep: ['search_files'],
  Bash: ['run_shell'],
  Task: ['create_subtask'],
  Agent: ['create_subtask'],
};

export const DEFAULT_TOOL_NAMES: readonly string[] = ['read_file', 'write_file', 'edit_file', 'list_files', 'search_files', 'run_shell', 'create_subtask'];

const MESSAGING_TOOL_NAMES = ['send_message', 'read_inbox'];
const MEMORY_TOOL_NAMES = ['memory_store', 'memory_retrieve', 'memory_search'];
const ALWAYS = 'report_result';

export interface ToolAvailability {
  /** The run has an agent identity, so it can send and receive messages. */
  messaging: boolean;
  /** The run can submit child tasks. */
  subtasks: boolean;
  /** The run has the colony's memory (default false). */
  memory?: boolean;
}

export interface SelectedTools {
  tools: AgentTool[];
  /** Declared names that map to no Colony tool. */
  unsupported: string[];
}

/**
 * Colony tool names for a declared list (Claude Code or Colony names; `Bash(git:*)`-style rules count
 * as `Bash`). `custom` names a program's registered tools: selectable by name, never in the default set.
 */
export function mapToolNames(declared: readonly string[], custom: readonly string[] = []): { names: string[]; unsupported: string[] } {
  if (declared.length === 0) return { names: [...DEFAULT_TOOL_NAMES], unsupported: [] };
  const known = new Set([...AGENT_TOOLS.map((tool) => tool.name), ...custom]);
  const names = new Set<string>();
  const unsupported: string[] = [];
  for (const raw of declared) {
    // MCP tools (mcp__<server>...) are selected from the servers (see mcp-tool-names.ts).
    if (isMcpToolName(raw)) continue;
    const name = raw.trim().replace(/\(.*\)$/s, '').trim();
    const mapped = CLAUDE_CODE_TOOL_NAMES[name] ?? (known.has(name) ? [name] : undefined);
    if (mapped === undefined) unsupported.push(raw);
    else for (const m of mapped) names.add(m);
  }
  return { names: [...names], unsupported };
}

/**
 * The tools of a run: the built-ins its declared list and availability select, then the selected
 * custom tools, then its MCP tools (already selected, see mcp-tools.ts), then report_result.
 */
export function selectAgentTools(declared: readonly string[], availability: ToolAvailability, custom: readonly AgentTool[] = [], mcp: readonly AgentTool[] = []): SelectedTools {
  const { names, unsupported } = mapToolNames(
    declared,
    custom.map((tool) => tool.name),
  );
  const wanted = new Set([...names, ALWAYS]);
  if (availability.messaging) for (const name of MESSAGING_TOOL_NAMES) wanted.add(name);
  else for (const name of MESSAGING_TOOL_NAMES) wanted.delete(name);
  if (!availability.subtasks) wanted.delete('create_subtask');
  if (availability.memory === true) for (const name of MEMORY_TOOL_NAMES) wanted.add(name);
  else for (const name of MEMORY_TOOL_NAMES) wanted.delete(name);
  const builtins = AGENT_TOOLS.filter((tool) => wanted.has(tool.name));
  if (custom.length === 0 && mcp.length === 0) return { tools: builtins, unsupported };
  const last = builtins.filter((tool) => tool.name === ALWAYS);
  const rest = builtins.filter((tool) => tool.name !== ALWAYS);
  return { tools: [...rest, ...custom.filter((tool) => wanted.has(tool.name)), ...mcp, ...last], unsupported };
}
