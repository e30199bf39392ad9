import { posix } from 'node:path';
import { z } from 'zod';
import { LIST_MAX_ENTRIES, SEARCH_MAX_RESULTS } from '../../../sandbox/sandbox-defaults.js';
import { compileUntrustedGlob } from '../../../security/untrusted-glob.js';
import { LIST_DEFAULT_MAX_ENTRIES, SEARCH_DEFAULT_MAX_RESULTS } from '../runtime-defaults.js';
import { defineTool } from './agent-tool.js';

/**
 * The workspace file tools: read, write, edit, list and search, over the sandbox's FileTools, so
 * every path is confined by the WorkspaceGuard (which also keeps agents off Colony's and Claude
 * Code's configuration: see sandbox/protected-paths.ts). Writes are journaled (and the journal persisted)
 * before they happen, so the task can be rolled back.
 */

const path = z.string().min(1).describe('A path relative to the workspace root');

export const readFileTool = defineTool({
  name: 'read_file',
  description:
    'Read a text file of the workspace. Returns numbered lines (like `cat -n`). Long files come in pages: pass `offset` (lines to skip) and `limit` to read further.',
  input: z.object({
    path,
    offset: z.number().int().min(0).optional().describe('Lines to skip from the start (0-based)'),
    limit: z.number().int().min(1).optional().describe('Most lines to return'),
  }),
  async run(input, { files }) {
    const read = await files.readFile(input.path, { offset: input.offset, limit: input.limit });
    if (read.totalLines === 0) return `${read.path} is empty.`;
    const numbered = read.content.split('\n').map((line, index) => `${String(read.startLine + index).padStart(6)}\t${line}`);
    const header = `${read.path}: lines ${read.startLine}-${read.endLine} of ${read.totalLines}`;
    const more = read.nextOffset !== null ? `\n[more lines follow: call read_file with offset ${read.nextOffset}]` : read.truncated ? '\n[the line was cut at the output limit]' : '';
    return `${header}\n${numbered.join('\n')}${more}`;
  },
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description: 'Create a file, or replace its whole content. Parent directories are created as needed. Prefer edit_file to change part of an existing file.',
  input: z.object({ path, content: z.string().describe('The complete new content of the file') }),
  async run(input, { files, journalBeforeWrite }) {
    await journalBeforeWrite(input.path);
    const written = await files.writeFile(input.path, input.content);
    return `${written.created ? 'Created' : 'Replaced'} ${written.path} (${written.bytes} bytes).`;
  },
});

export const editFileTool = defineTool({
  name: 'edit_file',
  description:
    'Replace text in an existing file. `old_text` must occur exactly once (include enough surrounding lines to make it unique), or set `replace_all` to replace every occurrence.',
  input: z.object({
    path,
    old_text: z.string().min(1).describe('The exact text to replace, as it is in the file'),
    new_text: z.string().describe('The text to put in its place'),
    replace_all: z.boolean().optional().describe('Replace every occurrence instead of exactly one'),
  }),
  async run(input, { files, journalBeforeWrite }) {
    await journalBeforeWrite(input.path);
    const edited = await files.editFile(input.path, { oldText: input.old_text, newText: input.new_text, replaceAll: input.replace_all });
    return `Edited ${edited.path}: ${edited.replacements} replacement${edited.replacements === 1 ? '' : 's'}.`;
  },
});

export const listFilesTool = defineTool({
  name: 'list_files',
  description:
    'List a directory of the workspace (default: the root). `recursive` descends into subdirectories (skipping .git and node_modules); `glob` (e.g. "**/*.ts" or "*.md") keeps matching paths only and implies recursive.',
  input: z.object({
    path: path.optional(),
    recursive: z.boolean().optional(),
    glob: z.string().min(1).optional().describe('A glob: without "/" it matches file names, with "/" workspace-relative paths'),
    max_entries: z.number().int().min(1).max(LIST_MAX_ENTRIES).optional(),
  }),
  async run(input, { files }) {
    const limit = input.max_entries ?? LIST_DEFAULT_MAX_ENTRIES;
    const glob = input.glob === undefined ? undefined : compileUntrustedGlob(input.glob);
    const listed = await files.listFiles(input.path ?? '.', {
      recursive: input.recursive === true || glob !== undefined,
      maxEntries: glob === undefined ? limit : LIST_MAX_ENTRIES,
    });
    let entries = listed.entries;
    if (glob !== undefined) {
      entries = entries.filter((entry) => entry.type !== 'directory' && glob.matches(glob.source.includes('/') ? entry.path : posix.basename(entry.path)));
    }
    const truncated = listed.truncated || entries.length > limit;
    entries = entries.slice(0, limit);
    if (entries.length === 0) return `No entries in ${listed.path}${glob === undefined ? '' : ` matching ${glob.source}`}.`;
    const lines = entries.map((entry) => {
      if (entry.type === 'directory') return `${entry.path}/`;
      if (entry.type === 'symlink') return `${entry.path} (symlink)`;
      return entry.size === undefined ? entry.path : `${entry.path} (${entry.size} bytes)`;
    });
    return `${lines.join('\n')}${truncated ? `\n[list cut at ${entries.length} entries]` : ''}`;
  },
});

export const searchFilesTool = defineTool({
  name: 'search_files',
  description:
    'Search text files of the workspace for a regular expression (RE2 syntax: like JavaScript\'s, without backreferences or lookaround), line by line. Returns "path:line: text" for each match. `path` limits the search to a file or directory; `glob` filters files (e.g. "*.ts").',
  input: z.object({
    pattern: z.string().min(1).describe('A regular expression in RE2 syntax (no backreferences or lookaround)'),
    path: path.optional(),
    glob: z.string().min(1).optional(),
    ignore_case: z.boolean().optional(),
    max_results: z.number().int().min(1).max(SEARCH_MAX_RESULTS).optional(),
  }),
  async run(input, { files }) {
    const found = await files.searchFiles(input.pattern, {
      path: input.path,
      glob: input.glob,
      ignoreCase: input.ignore_case,
      maxResults: input.max_results ?? SEARCH_DEFAULT_MAX_RESULTS,
    });
    const summary = `${found.matches.length} match${found.matches.length === 1 ? '' : 'es'} in ${found.filesSearched} file${found.filesSearched === 1 ? '' : 's'} searched${found.truncated ? ' (search stopped early: narrow it with path or glob)' : ''}.`;
    if (found.matches.length === 0) return summary;
    return `${found.matches.map((m) => `${m.path}:${m.line}: ${m.text}`).join('\n')}\n${summary}`;
  },
});

export const FILE_TOOLS = [readFileTool, writeFileTool, editFileTool, listFilesTool, searchFilesTool] as const;
