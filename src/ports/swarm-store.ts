import type { SwarmRecord, SwarmStatus } from '../domain/swarm.js';
import type { NewEvent } from './event-log.js';

/**
 * The SwarmStore port: swarms as persisted records. A swarm's tasks live in the task table under
 * its id (`TaskRecord.swarmId`). Adapters: SQLite (`adapters/storage/sqlite/sqlite-swarm-store.ts`).
 * Conformance: `test/support/swarm-store-conformance.ts`.
 */
export interface SwarmStore {
  insert(swarm: SwarmRecord): Promise<void>;
  /**
   * Replaces the stored swarm if its status is still `expectedStatus` and it was last written at
   * `expectedUpdatedAt`; returns whether it did (false: someone changed it meanwhile). `events` are
   * appended to the event log in the same transaction, only if the swarm was replaced: a swarm's
   * ending and the events reporting it are written together, so no crash leaves one without the other.
   */
  update(next: SwarmRecord, expected: { status: SwarmStatus; updatedAt: number }, events?: readonly NewEvent[]): Promise<boolean>;
  get(id: string): Promise<SwarmRecord | undefined>;
  findIdsByPrefix(prefix: string, limit: number): Promise<string[]>;
  /** Newest first. */
  list(query: SwarmQuery): Promise<SwarmRecord[]>;
  count(query: Omit<SwarmQuery, 'limit' | 'offset'>): Promise<number>;
}

export interface SwarmQuery {
  status?: SwarmStatus | readonly SwarmStatus[];
  topology?: string;
  limit?: number;
  offset?: number;
}
