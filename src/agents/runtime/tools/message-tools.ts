import { z } from 'zod';
import type { AgentRecord } from '../../../domain/agent.js';
import type { Store } from '../../../ports/store.js';
import { INBOX_DEFAULT_LIMIT, INBOX_MAX_LIMIT, MESSAGE_MAX_CHARS } from '../runtime-defaults.js';
import { defineTool } from './agent-tool.js';

/**
 * Agent-to-agent messaging through the store: send_message and read_inbox. Only offered to runs
 * that have an agent (the sender and the inbox are agent ids).
 */

export const sendMessageTool = defineTool({
  name: 'send_message',
  description: 'Send a message to another agent of the colony, by agent id or name. It reads it with read_inbox.',
  input: z.object({
    to: z.string().min(1).describe('The recipient: an agent id or an agent name'),
    body: z.string().min(1).max(MESSAGE_MAX_CHARS),
  }),
  async run(input, { agent, store, task, now }) {
    if (agent === null) return { isError: true, content: 'this run has no agent identity, so it cannot send messages' };
    const recipient = await findAgent(store, input.to);
    if (!recipient) return { isError: true, content: `no live agent with the id or name ${JSON.stringify(input.to)}` };
    const sent = await store.messages.send({ fromAgent: agent.id, toAgent: recipient.id, taskId: task.id, body: input.body, createdAt: now() });
    return `Message ${sent.id} sent to ${recipient.name} (${recipient.id}).`;
  },
});

export const readInboxTool = defineTool({
  name: 'read_inbox',
  description: 'Read unread messages other agents sent you, oldest first. They are marked read unless mark_read is false.',
  input: z.object({
    limit: z.number().int().min(1).max(INBOX_MAX_LIMIT).optional(),
    mark_read: z.boolean().optional(),
  }),
  async run(input, { agent, store, now }) {
    if (agent === null) return { isError: true, content: 'this run has no agent identity, so it has no inbox' };
    const markRead = input.mark_read !== false;
    const messages = await store.messages.readInbox(agent.id, {
      limit: input.limit ?? INBOX_DEFAULT_LIMIT,
      ...(markRead ? { markRead: true, readAt: now() } : {}),
    });
    if (messages.length === 0) return 'No unread messages.';
    return messages
      .map((m) => `#${m.id} from ${m.fromAgent}${m.taskId === null ? '' : ` (task ${m.taskId})`} at ${new Date(m.createdAt).toISOString()}:\n${m.body}`)
      .join('\n\n');
  },
});

async function findAgent(store: Store, idOrName: string): Promise<AgentRecord | undefined> {
  const byId = await store.agents.get(idOrName);
  if (byId) return byId.status === 'terminated' ? undefined : byId;
  const live = await store.agents.list({ excludeTerminated: true });
  return live.find((candidate) => candidate.name === idOrName);
}
