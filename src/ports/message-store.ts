/** The MessageStore port: agent-to-agent messages. Conformance: `test/conformance/message-store.ts`. */
export interface MessageStore {
  send(message: NewAgentMessage): Promise<AgentMessage>;
  /**
   * Unread messages to `agentId`, oldest first, at most `limit`. With `markRead` they are marked read
   * at `readAt` in the same write, so two concurrent readers never both receive one message.
   */
  readInbox(agentId: string, options: InboxOptions): Promise<AgentMessage[]>;
}

export interface NewAgentMessage {
  fromAgent: string;
  toAgent: string;
  /** The task the sender was working on, if any. */
  taskId: string | null;
  body: string;
  createdAt: number;
}

export interface AgentMessage extends NewAgentMessage {
  id: number;
  readAt: number | null;
}

export interface InboxOptions {
  limit: number;
  markRead?: boolean;
  /** When the messages are marked read (epoch ms); required with `markRead`. */
  readAt?: number;
}
