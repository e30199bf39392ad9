import { sql, type Kysely } from 'kysely';
import { ValidationError } from '../../../domain/errors.js';
import type { AgentMessage, InboxOptions, MessageStore, NewAgentMessage } from '../../../ports/message-store.js';
import { AGENT_MESSAGE_COLUMNS, columnSql } from '../sql/column-lists.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import { peekInbox, sendMessage } from '../sql/message-queries.js';
import { agentMessageFromRow } from '../sql/rows.js';
import type { AgentMessageRow, ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';

/**
 * Agent-to-agent messages on PostgreSQL. Reading with `markRead` is one statement that picks the
 * unread messages with `FOR UPDATE SKIP LOCKED` and marks them: a message another reader has just
 * picked is passed over, and one it has marked no longer qualifies, so no two readers, in any
 * processes, receive the same message. The pick is an `array(select ...)`, run once (an IN could be
 * planned to run it again per row and mark more than `limit`; see PostgresTaskStore.claimReady).
 */
export class PostgresMessageStore implements MessageStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  send(message: NewAgentMessage): Promise<AgentMessage> {
    return mapped(`send a message to ${message.toAgent}`, () => sendMessage(this.sql, message));
  }

  async readInbox(agentId: string, options: InboxOptions): Promise<AgentMessage[]> {
    if (options.markRead !== true) return mapped(`read inbox of ${agentId}`, () => peekInbox(this.sql, agentId, options.limit));
    const readAt = options.readAt;
    if (readAt === undefined) throw new ValidationError('readInbox: markRead needs readAt');
    return mapped(`read inbox of ${agentId}`, async () => {
      const { rows } = await sql<Omit<AgentMessageRow, 'id'> & { id: number }>`
        update agent_messages set read_at = ${readAt}
        where read_at is null and id = any(array(
          select id from agent_messages where to_agent = ${agentId} and read_at is null
          order by id limit ${options.limit}
          for update skip locked))
        returning ${columnSql('postgres', AGENT_MESSAGE_COLUMNS)}`.execute(this.db);
      // RETURNING has no order: oldest first again.
      return rows.map(agentMessageFromRow).sort((a, b) => a.id - b.id);
    });
  }
}
