import type { JsonValue } from '../../../domain/json.js';
import type { AgentTurn, NewAgentTurn } from '../../../ports/store.js';
import { agentTurnFromRow, readJson } from '../sql/rows.js';
import type { TranscriptStore } from '../../../ports/transcript-store.js';
import { SqliteAggregate } from './sqlite-aggregate.js';

/** Agent transcripts and file journals. See `SqliteStore`. */
export class SqliteTranscriptStore extends SqliteAggregate implements TranscriptStore {
  appendTurns(turns: readonly NewAgentTurn[]): Promise<number[]> {
    return this.write('append agent turns', () =>
      this.writes.atomically(() => {
        const insert = this.stmt(
          `INSERT INTO agent_turns (task_id, agent_id, attempt, turn, role, content, usage, model, provider, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        return turns.map((t) =>
          Number(
            insert.run(
              t.taskId,
              t.agentId,
              t.attempt,
              t.turn,
              t.role,
              JSON.stringify(t.content),
              t.usage === null ? null : JSON.stringify(t.usage),
              t.model,
              t.provider,
              t.createdAt,
            ).lastInsertRowid,
          ),
        );
      }),
    );
  }

  async listTurns(query: { taskId: string; attempt?: number }): Promise<AgentTurn[]> {
    const rows =
      query.attempt === undefined
        ? this.all('SELECT * FROM agent_turns WHERE task_id = ? ORDER BY id', query.taskId)
        : this.all('SELECT * FROM agent_turns WHERE task_id = ? AND attempt = ? ORDER BY id', query.taskId, query.attempt);
    return (rows as never[]).map(agentTurnFromRow);
  }

  saveJournal(taskId: string, journal: JsonValue, updatedAt: number): Promise<void> {
    const text = JSON.stringify(journal);
    return this.write(`save journal of task ${taskId}`, () => {
      this.stmt(
        `INSERT INTO task_journals (task_id, journal, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (task_id) DO UPDATE SET journal = excluded.journal, updated_at = excluded.updated_at`,
      ).run(taskId, text, updatedAt);
    });
  }

  async getJournal(taskId: string): Promise<JsonValue | undefined> {
    const row = this.stmt('SELECT journal FROM task_journals WHERE task_id = ?').get(taskId) as { journal: string } | undefined;
    return row ? readJson<JsonValue>(row.journal) : undefined;
  }

  deleteJournal(taskId: string): Promise<void> {
    return this.write(`delete journal of task ${taskId}`, () => {
      this.stmt('DELETE FROM task_journals WHERE task_id = ?').run(taskId);
    });
  }
}
