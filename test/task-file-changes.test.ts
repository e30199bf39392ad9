import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../src/domain/events.js';
import type { AgentTurn } from '../src/ports/store.js';
import { lineDiff, LINE_DIFF_MAX_CELLS } from '../src/tasks/line-diff.js';
import { taskFileChanges } from '../src/tasks/task-file-changes.js';
import { attemptsOf } from '../src/tasks/task-history.js';

/** The pieces of the task view's library: the line diff, the file changes rebuilt from journal and transcript, the attempts from events. */

describe('lineDiff', () => {
  it('gives unified hunks with three lines of context, removals before additions, numbered as diff -u does', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].join('\n') + '\n';
    const after = ['a', 'b', 'c', 'D', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'].join('\n') + '\n';
    const diff = lineDiff(before, after);
    expect(diff).toEqual({
      added: 2,
      removed: 1,
      hunks: [
        { header: '@@ -1,7 +1,7 @@', lines: [' a', ' b', ' c', '-d', '+D', ' e', ' f', ' g'].map((l) => ({ op: l[0], text: l.slice(1) })) },
        { header: '@@ -10,3 +10,4 @@', lines: [' j', ' k', ' l', '+m'].map((l) => ({ op: l[0], text: l.slice(1) })) },
      ],
    });
  });

  it('joins changes closer than twice the context into one hunk, and says nothing changed with no hunks', () => {
    const diff = lineDiff('1\n2\n3\n4\n5\n6\n', '1\nX\n3\n4\n5\nY\n');
    expect(diff.tooLarge).toBeUndefined();
    if (diff.tooLarge) return;
    expect(diff.hunks.map((h) => h.header)).toEqual(['@@ -1,6 +1,6 @@']);
    expect(lineDiff('same\n', 'same\n')).toEqual({ hunks: [], added: 0, removed: 0 });
    expect(lineDiff('gone\n', '')).toEqual({ hunks: [{ header: '@@ -1,1 +0,0 @@', lines: [{ op: '-', text: 'gone' }] }], added: 0, removed: 1 });
  });

  it('reports a change too large to compare instead of building the table', () => {
    const side = Math.ceil(Math.sqrt(LINE_DIFF_MAX_CELLS)) + 1;
    const before = Array.from({ length: side }, (_, i) => `a${i}`).join('\n');
    const after = Array.from({ length: side }, (_, i) => `b${i}`).join('\n');
    const diff = lineDiff(before, after);
    expect(diff.tooLarge).toBe(true);
    if (diff.tooLarge) expect(diff.reason).toContain(`${side} lines against ${side} changed lines`);
  });
});

const T = 1_700_000_000_000;
let nextId = 1;
function turn(role: AgentTurn['role'], content: AgentTurn['content'], t: number): AgentTurn {
  return { id: nextId++, taskId: 'tsk_1', agentId: null, attempt: 1, turn: t, role, content, usage: null, model: null, provider: null, createdAt: T };
}
const journal = (entries: unknown[]) => ({ version: 1, entries }) as never;
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('taskFileChanges', () => {
  it('diffs each journaled file from its prior content to what the successful write and edit calls left', () => {
    const turns = [
      turn('assistant', [{ type: 'tool_use', id: 'c1', name: 'edit_file', input: { path: './src/app.js', old_text: 'one', new_text: 'uno' } }], 1),
      turn('tool', [{ type: 'tool_result', toolUseId: 'c1', content: 'Edited' }], 1),
      turn('assistant', [{ type: 'tool_use', id: 'c2', name: 'edit_file', input: { path: 'src/app.js', old_text: 'nope', new_text: 'x' } }], 2),
      turn('tool', [{ type: 'tool_result', toolUseId: 'c2', content: 'old_text not found', isError: true }], 2),
      turn('assistant', [{ type: 'tool_use', id: 'c3', name: 'write_file', input: { path: 'new.txt', content: 'fresh\n' } }], 3),
      turn('tool', [{ type: 'tool_result', toolUseId: 'c3', content: 'Created' }], 3),
    ];
    const saved = journal([
      { kind: 'file', path: '/work/space/src/app.js', bytes: 8, mode: 0o644, content: b64('one\ntwo\n') },
      { kind: 'absent', path: '/work/space/new.txt', createdDirectories: [] },
    ]);
    const changes = taskFileChanges(saved, turns);
    expect(changes.journal).toBe(true);
    expect(changes.files.map((f) => [f.path, f.change, f.note])).toEqual([
      ['src/app.js', 'modified', null],
      ['new.txt', 'created', null],
    ]);
    expect(changes.files[0]?.diff).toEqual({ hunks: [{ header: '@@ -1,2 +1,2 @@', lines: [{ op: '-', text: 'one' }, { op: '+', text: 'uno' }, { op: ' ', text: 'two' }] }], added: 1, removed: 1 });
  });

  it('says when the change cannot be rebuilt, when the prior content was not kept, and when there is no journal', () => {
    const turns = [
      turn('assistant', [{ type: 'tool_use', id: 'c1', name: 'edit_file', input: { path: 'a.txt', old_text: 'changed by a shell command', new_text: 'x' } }], 1),
      turn('tool', [{ type: 'tool_result', toolUseId: 'c1', content: 'Edited' }], 1),
    ];
    const saved = journal([
      { kind: 'file', path: '/w/a.txt', bytes: 4, mode: 0o644, content: b64('abc\n') },
      { kind: 'unrestorable', path: '/w/big.bin', bytes: 99_000_000, reason: 'too big' },
    ]);
    const [edited, big] = taskFileChanges(saved, turns).files;
    expect(edited).toMatchObject({ diff: null, note: expect.stringContaining('could not be replayed') });
    expect(big).toMatchObject({ path: '/w/big.bin', diff: null, note: expect.stringContaining('too big for the journal') });
    expect(taskFileChanges(undefined, turns)).toEqual({ journal: false, files: [] });
  });
});

describe('attemptsOf', () => {
  const e = (id: number, type: string, data: Record<string, unknown>): StoredEvent => ({ id, type, source: 'task-engine', data: data as never, correlationId: 'tsk_1', timestamp: T + id * 1_000 });

  it('pairs each start with how it ended: a retried failure, a lost runner, a completion', () => {
    const attempts = attemptsOf([
      e(1, 'task.created', { taskId: 'tsk_1' }),
      e(2, 'task.started', { taskId: 'tsk_1', attempt: 1, agentId: null, runnerId: 'run_a' }),
      e(3, 'task.failed', { taskId: 'tsk_1', attempt: 1, error: { code: 'execution', message: 'boom', attempt: 1 }, willRetry: true }),
      e(4, 'task.started', { taskId: 'tsk_1', attempt: 2, agentId: 'agt_x', runnerId: 'run_a' }),
      e(5, 'task.recovered', { taskId: 'tsk_1', deadRunnerId: 'run_a' }),
      e(6, 'task.started', { taskId: 'tsk_1', attempt: 3, agentId: 'agt_x', runnerId: 'run_b' }),
      e(7, 'task.completed', { taskId: 'tsk_1', attempt: 3, durationMs: 1_000 }),
      e(8, 'task.started', { taskId: 'tsk_1', attempt: 4, agentId: null, runnerId: 'run_b' }),
    ]);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.runnerId, a.agentId, a.error?.message ?? null, a.willRetry, a.finishedAt === null ? null : a.finishedAt - a.startedAt])).toEqual([
      [1, 'failed', 'run_a', null, 'boom', true, 1_000],
      [2, 'recovered', 'run_a', 'agt_x', 'its runner run_a stopped; the task was put back in the queue', false, 1_000],
      [3, 'completed', 'run_b', 'agt_x', null, false, 1_000],
      [4, 'running', 'run_b', null, null, false, null],
    ]);
  });
});
