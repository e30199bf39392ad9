import type { AgentMessage, NewAgentMessage } from '../../../ports/message-store.js';
import { AGENT_MESSAGE_COLUMNS, selection } from './column-lists.js';
import type { SqlContext } from './dialect-sql.js';
import { agentMessageFromRow } from './rows.js';
import type { AgentMessageRow } from './schema.js';

/**
 * The MessageStore port's statements that are the same on SQLite and PostgreSQL (see dialect-sql.ts).
 * Reading an inbox and marking it read in one write differs by dialect and lives with each adapter.
 */

export async function sendMessage({ db }: SqlContext, message: NewAgentMessage): Promise<AgentMessage> {
  const row = await db
    .insertInto('agent_messages')
    .values({ from_agent: message.fromAgent, to_agent: message.toAgent, task_id: message.taskId, body: message.body, created_at: message.createdAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { ...message, id: Number(row.id), readAt: null };
}

/** Unread messages to the agent, oldest first, without marking them. */
export async function peekInbox({ db, dialect }: SqlContext, agentId: string, limit: number): Promise<AgentMessage[]> {
  const rows = await db
    .selectFrom('agent_messages')
    .select(selection(dialect, AGENT_MESSAGE_COLUMNS))
    .where('to_agent', '=', agentId)
    .where('read_at', 'is', null)
    .orderBy('id')
    .limit(limit)
    .execute();
  return (rows as unknown as (Omit<AgentMessageRow, 'id'> & { id: number })[]).map(agentMessageFromRow);
}
