import type { JsonValue } from '../../../domain/json.js';
import type { AgentTurn, NewAgentTurn } from '../../../ports/transcript-store.js';
import { AGENT_TURN_COLUMNS, selection } from './column-lists.js';
import { type SqlContext } from './dialect-sql.js';
import { agentTurnFromRow, readJson } from './rows.js';
import type { AgentTurnRow } from './schema.js';

/**
 * The TranscriptStore port's statements (agent turns and file journals), written once for SQLite and
 * PostgreSQL (see dialect-sql.ts).
 */

/** Turns per multi-row INSERT (10 columns each). Atomic across chunks only inside the caller's transaction. */
export const TURN_INSERT_CHUNK = 1_000;

/** Appends turns in order and returns their ids, increasing. */
export async function appendTurns({ db }: SqlContext, turns: readonly NewAgentTurn[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < turns.length; i += TURN_INSERT_CHUNK) {
    const rows = turns.slice(i, i + TURN_INSERT_CHUNK).map((t) => ({
      task_id: t.taskId,
      agent_id: t.agentId,
      attempt: t.attempt,
      turn: t.turn,
      role: t.role,
      content: JSON.stringify(t.content),
      usage: t.usage === null ? null : JSON.stringify(t.usage),
      model: t.model,
      provider: t.provider,
      created_at: t.createdAt,
    }));
    // A multi-row VALUES list takes its ids in list order; sorted in case a driver returns them otherwise.
    const inserted = await db.insertInto('agent_turns').values(rows).returning('id').execute();
    ids.push(...inserted.map((r) => Number(r.id)).sort((a, b) => a - b));
  }
  return ids;
}

/** A task's turns in append order, optionally of one attempt. */
export async function listTurns({ db, dialect }: SqlContext, query: { taskId: string; attempt?: number }): Promise<AgentTurn[]> {
  let select = db.selectFrom('agent_turns').select(selection(dialect, AGENT_TURN_COLUMNS)).where('task_id', '=', query.taskId);
  if (query.attempt !== undefined) select = select.where('attempt', '=', query.attempt);
  const rows = await select.orderBy('id').execute();
  return (rows as unknown as (Omit<AgentTurnRow, 'id'> & { id: number })[]).map(agentTurnFromRow);
}

/** Stores or replaces a task's journal: one statement. */
export async function saveJournal({ db }: SqlContext, taskId: string, journal: JsonValue, updatedAt: number): Promise<void> {
  await db
    .insertInto('task_journals')
    .values({ task_id: taskId, journal: JSON.stringify(journal), updated_at: updatedAt })
    .onConflict((oc) => oc.column('task_id').doUpdateSet((eb) => ({ journal: eb.ref('excluded.journal'), updated_at: eb.ref('excluded.updated_at') })))
    .execute();
}

export async function getJournal({ db, dialect }: SqlContext, taskId: string): Promise<JsonValue | undefined> {
  const row = await db
    .selectFrom('task_journals')
    .select(selection(dialect, { columns: ['journal'], json: new Set(['journal']) }))
    .where('task_id', '=', taskId)
    .executeTakeFirst();
  return row ? readJson<JsonValue>((row as { journal: unknown }).journal) : undefined;
}

export async function deleteJournal({ db }: SqlContext, taskId: string): Promise<void> {
  await db.deleteFrom('task_journals').where('task_id', '=', taskId).execute();
}
