import { posix } from 'node:path';
import type { JsonValue } from '../domain/json.js';
import type { AgentTurn } from '../ports/transcript-store.js';
import { FileJournal, type JournalEntry } from '../sandbox/file-journal.js';
import { lineDiff, type LineDiff } from './line-diff.js';

/**
 * What an agent task changed in its workspace's files (`colony.tasks.fileChanges`), as diffs. The
 * task's file journal holds each file as it was before the task first wrote it; the content after
 * is rebuilt by replaying the task's successful write_file and edit_file calls from its transcript,
 * so the diff is the task's own change even when the file changed again later. A change the replay
 * cannot rebuild (the file was changed by a shell command in between, say) is said so, not guessed.
 */
export interface TaskFileChanges {
  /** Whether the task has a journal: none when it wrote no file, or its changes were rolled back. */
  journal: boolean;
  files: FileChange[];
}

export interface FileChange {
  /** Relative to the workspace when the transcript names it so; else the journal's absolute path. */
  path: string;
  change: 'created' | 'modified';
  diff: LineDiff | null;
  /** Why there is no diff, when there is none. */
  note: string | null;
}

const WRITE_TOOLS = new Set(['write_file', 'edit_file']);

interface FileState {
  entry: JournalEntry;
  path: string;
  before: string | null;
  after: string | null;
  note: string | null;
}

export function taskFileChanges(saved: JsonValue | undefined, turns: readonly AgentTurn[]): TaskFileChanges {
  if (saved === undefined) return { journal: false, files: [] };
  const entries = FileJournal.fromJSON(saved).toJSON().entries;
  const states = entries.map((entry): FileState => {
    const before = entry.kind === 'file' ? Buffer.from(entry.content, 'base64').toString('utf8') : entry.kind === 'absent' ? '' : null;
    const note = entry.kind === 'unrestorable' ? `its prior content (${entry.bytes} bytes) was too big for the journal` : null;
    return { entry, path: entry.path, before, after: before, note };
  });
  for (const call of successfulWrites(turns)) {
    const state = stateFor(states, call.path);
    if (!state) continue;
    state.path = call.path;
    if (call.name === 'write_file') {
      state.after = call.content;
      continue;
    }
    if (state.after === null) continue;
    if (!state.after.includes(call.oldText)) {
      state.after = null;
      state.note ??= 'an edit could not be replayed on the file as the journal and earlier calls left it (it was changed in another way in between)';
      continue;
    }
    state.after = call.replaceAll ? state.after.split(call.oldText).join(call.newText) : state.after.replace(call.oldText, () => call.newText);
  }
  return {
    journal: true,
    files: states.map((s): FileChange => {
      const binary = (s.before ?? '').includes('\0') || (s.after ?? '').includes('\0');
      const note = binary ? 'binary content' : s.note;
      const diff = binary || s.after === null ? null : lineDiff(s.before ?? '', s.after);
      return { path: s.path, change: s.entry.kind === 'absent' ? 'created' : 'modified', diff, note: diff === null ? (note ?? 'the content after the task is not known') : note };
    }),
  };
}

type WriteCall = { path: string } & ({ name: 'write_file'; content: string } | { name: 'edit_file'; oldText: string; newText: string; replaceAll: boolean });

/** The write_file and edit_file calls whose result was not an error, in the order they ran. */
function successfulWrites(turns: readonly AgentTurn[]): WriteCall[] {
  const failed = new Set<string>();
  const answered = new Set<string>();
  for (const turn of turns) {
    for (const part of turn.content) {
      if (part.type !== 'tool_result') continue;
      answered.add(part.toolUseId);
      if (part.isError === true) failed.add(part.toolUseId);
    }
  }
  const calls: WriteCall[] = [];
  for (const turn of turns) {
    if (turn.role !== 'assistant') continue;
    for (const part of turn.content) {
      if (part.type !== 'tool_use' || !WRITE_TOOLS.has(part.name) || failed.has(part.id) || !answered.has(part.id)) continue;
      const input = (part.input ?? {}) as Record<string, unknown>;
      if (typeof input.path !== 'string') continue;
      const path = posix.normalize(input.path).replace(/^(\.\/)+/, '');
      if (part.name === 'write_file' && typeof input.content === 'string') calls.push({ name: 'write_file', path, content: input.content });
      if (part.name === 'edit_file' && typeof input.old_text === 'string' && typeof input.new_text === 'string') {
        calls.push({ name: 'edit_file', path, oldText: input.old_text, newText: input.new_text, replaceAll: input.replace_all === true });
      }
    }
  }
  return calls;
}

/** The journal entry of a path the model named (relative to the workspace, or absolute). */
function stateFor(states: FileState[], path: string): FileState | undefined {
  return states.find((s) => s.entry.path === path) ?? states.find((s) => s.entry.path.endsWith(`/${path}`));
}
