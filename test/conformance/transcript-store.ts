import { beforeEach, describe, expect, it } from 'vitest';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { task, turn, expectColonyError } from './store-fixtures.js';

/**
 * The TranscriptStore port's conformance suite (agent transcripts and file journals): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runTranscriptStoreConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`TranscriptStore conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('agent transcripts', () => {
      it('appends turns and lists them in order, per task and per attempt', async () => {
        await store.tasks.insert([task('tsk_1'), task('tsk_2')]);
        const first = await store.transcripts.appendTurns([
          turn('tsk_1', 1, 0, 'system', [{ type: 'text', text: 'You are a coder.' }]),
          turn('tsk_1', 1, 0, 'user', [{ type: 'text', text: 'Fix the bug — ünïcödé' }]),
          turn('tsk_1', 1, 1, 'assistant', [
            { type: 'text', text: 'Reading it.' },
            { type: 'tool_use', id: 'tu_1', name: 'read_file', input: { path: 'a.ts', nested: [1, null, { x: true }] } },
          ], { usage: { inputTokens: 120, outputTokens: 30 }, model: 'claude-sonnet-4-5', provider: 'anthropic' }),
          turn('tsk_1', 1, 1, 'tool', [{ type: 'tool_result', toolUseId: 'tu_1', content: 'no such file', isError: true }]),
        ]);
        const second = await store.transcripts.appendTurns([turn('tsk_1', 2, 0, 'user', [{ type: 'text', text: 'again' }]), turn('tsk_2', 1, 0, 'user', [{ type: 'text', text: 'other' }])]);
        expect(first).toHaveLength(4);
        const all = [...first, ...second];
        for (let i = 1; i < all.length; i++) expect(all[i] as number).toBeGreaterThan(all[i - 1] as number);
        expect(await store.transcripts.appendTurns([])).toEqual([]);

        const listed = await store.transcripts.listTurns({ taskId: 'tsk_1' });
        expect(listed.map((t) => t.id)).toEqual([...first, second[0]]);
        expect(listed[2]).toEqual({
          id: first[2],
          ...turn('tsk_1', 1, 1, 'assistant', [
            { type: 'text', text: 'Reading it.' },
            { type: 'tool_use', id: 'tu_1', name: 'read_file', input: { path: 'a.ts', nested: [1, null, { x: true }] } },
          ], { usage: { inputTokens: 120, outputTokens: 30 }, model: 'claude-sonnet-4-5', provider: 'anthropic' }),
        });
        expect(listed[3]?.content).toEqual([{ type: 'tool_result', toolUseId: 'tu_1', content: 'no such file', isError: true }]);
        expect(listed[0]?.usage).toBeNull();
        expect((await store.transcripts.listTurns({ taskId: 'tsk_1', attempt: 1 })).map((t) => t.role)).toEqual(['system', 'user', 'assistant', 'tool']);
        expect((await store.transcripts.listTurns({ taskId: 'tsk_1', attempt: 2 })).map((t) => t.id)).toEqual([second[0]]);
        expect(await store.transcripts.listTurns({ taskId: 'tsk_1', attempt: 3 })).toEqual([]);
        expect(await store.transcripts.listTurns({ taskId: 'tsk_unknown' })).toEqual([]);
      });

      it('refuses turns of an unknown task, writing none of the batch', async () => {
        await store.tasks.insert([task('tsk_1')]);
        const error = await store
          .transcripts.appendTurns([turn('tsk_1', 1, 0, 'user', [{ type: 'text', text: 'ok' }]), turn('tsk_ghost', 1, 0, 'user', [{ type: 'text', text: 'no' }])])
          .catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation', 'storage']);
        expect(await store.transcripts.listTurns({ taskId: 'tsk_1' })).toEqual([]);
      });
    });

    describe('file journals', () => {
      it('saves, replaces, reads and deletes a task journal', async () => {
        await store.tasks.insert([task('tsk_1'), task('tsk_2')]);
        expect(await store.transcripts.getJournal('tsk_1')).toBeUndefined();
        const journal = { version: 1, entries: [{ kind: 'absent', path: '/w/new.txt', createdDirectories: [] }] };
        await store.transcripts.saveJournal('tsk_1', journal, T);
        expect(await store.transcripts.getJournal('tsk_1')).toEqual(journal);
        const bigger = { version: 1, entries: [...journal.entries, { kind: 'file', path: '/w/a.txt', bytes: 2, mode: 420, content: 'aGk=' }] };
        await store.transcripts.saveJournal('tsk_1', bigger, T + 1);
        expect(await store.transcripts.getJournal('tsk_1')).toEqual(bigger);
        expect(await store.transcripts.getJournal('tsk_2')).toBeUndefined();

        await store.transcripts.deleteJournal('tsk_1');
        expect(await store.transcripts.getJournal('tsk_1')).toBeUndefined();
        await store.transcripts.deleteJournal('tsk_1'); // no error when there is none
      });

      it('refuses a journal of an unknown task', async () => {
        const error = await store.transcripts.saveJournal('tsk_ghost', { version: 1, entries: [] }, T).catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation', 'storage']);
        expect(await store.transcripts.getJournal('tsk_ghost')).toBeUndefined();
      });
    });
  });
}
