import { ValidationError } from '../../../domain/errors.js';
import type { AgentMessage, InboxOptions, NewAgentMessage } from '../../../ports/store.js';
import { agentMessageFromRow } from '../sql/rows.js';
import type { MessageStore } from '../../../ports/message-store.js';
import { SqliteAggregate } from './sqlite-aggregate.js';

/** Agent-to-agent messages. See `SqliteStore`. */
export class SqliteMessageStore extends SqliteAggregate implements MessageStore {
  send(message: NewAgentMessage): Promise<AgentMessage> {
    return this.write('send agent message', () => {
      const result = this.stmt(
        'INSERT INTO agent_messages (from_agent, to_agent, task_id, body, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(message.fromAgent, message.toAgent, message.taskId, message.body, message.createdAt);
      return { ...message, id: Number(result.lastInsertRowid), readAt: null };
    });
  }

  async readInbox(agentId: string, options: InboxOptions): Promise<AgentMessage[]> {
    const select = (): AgentMessage[] =>
      (
        this.all(
          'SELECT * FROM agent_messages WHERE to_agent = ? AND read_at IS NULL ORDER BY id LIMIT ?',
          agentId,
          options.limit,
        ) as never[]
      ).map(agentMessageFromRow);
    if (options.markRead !== true) return select();
    const readAt = options.readAt;
    if (readAt === undefined) throw new ValidationError('readInbox: markRead needs readAt');
    // Select and mark in one write, so that a message is handed to one reader only.
    return this.write(`read inbox of ${agentId}`, () => {
      const messages = select();
      const mark = this.stmt('UPDATE agent_messages SET read_at = ? WHERE id = ?');
      for (const m of messages) mark.run(readAt, m.id);
      return messages.map((m) => ({ ...m, readAt }));
    });
  }
}
