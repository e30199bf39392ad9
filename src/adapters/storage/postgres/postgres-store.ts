import type { Kysely } from 'kysely';
import { ConfigError } from '../../../domain/errors.js';
import type { MemoryStore } from '../../../ports/memory-store.js';
import type { Store } from '../../../ports/store.js';
import type { ColonyTables } from '../sql/schema.js';
import { PostgresAgentStore } from './postgres-agent-store.js';
import { PostgresApiKeyStore } from './postgres-api-key-store.js';
import type { PostgresConnectionOptions } from './postgres-connection.js';
import { PostgresEventLog } from './postgres-event-log.js';
import { PostgresMessageStore } from './postgres-message-store.js';
import { PostgresMetricStore } from './postgres-metric-store.js';
import { PostgresRunnerStore } from './postgres-runner-store.js';
import { PostgresStores } from './postgres-stores.js';
import { PostgresTaskStore } from './postgres-task-store.js';
import { PostgresTranscriptStore } from './postgres-transcript-store.js';
import { PostgresWorkflowStore } from './postgres-workflow-store.js';

export interface PostgresStoreOptions extends PostgresConnectionOptions {
  /**
   * MEMORY PLUG-IN POINT: builds memory's durable tier on this store's pool (the PostgreSQL memory
   * store, postgres-memory-store.ts, written separately). Called once, on first use of `memory`.
   * Absent: `memory` throws, and everything else works.
   */
  memory?: (db: Kysely<ColonyTables>) => MemoryStore;
  /** Replaces the server's clock (`runners.clock()`), for tests that control time. */
  clock?: () => number;
}

/**
 * Colony's store on PostgreSQL ("team mode"): one adapter per aggregate port, all on one connection
 * pool, for any number of processes on any number of hosts sharing the database (or a schema of it,
 * chosen by the URL's search_path). How each keeps several processes right:
 * - tasks: compare-and-set UPDATEs; claims of ready tasks by `FOR UPDATE SKIP LOCKED`;
 * - agents: every slot and status change one conditional statement;
 * - events: appends serialised by an advisory lock held to commit (id order is commit order), NOTIFY on append;
 * - runners: the server's clock;
 * - messages: inbox reads by `FOR UPDATE SKIP LOCKED`.
 */
export class PostgresStore extends PostgresStores implements Store {
  readonly tasks: PostgresTaskStore;
  readonly workflows: PostgresWorkflowStore;
  readonly agents: PostgresAgentStore;
  readonly events: PostgresEventLog;
  readonly metrics: PostgresMetricStore;
  readonly runners: PostgresRunnerStore;
  readonly transcripts: PostgresTranscriptStore;
  readonly messages: PostgresMessageStore;
  readonly apiKeys: PostgresApiKeyStore;
  private readonly memoryFactory: ((db: Kysely<ColonyTables>) => MemoryStore) | undefined;
  private memoryStore: MemoryStore | undefined;

  constructor(options: PostgresStoreOptions) {
    super(options);
    const db = this.database.db;
    this.tasks = new PostgresTaskStore(db);
    this.workflows = new PostgresWorkflowStore(db);
    this.agents = new PostgresAgentStore(db);
    this.events = new PostgresEventLog(db);
    this.metrics = new PostgresMetricStore(db);
    this.runners = new PostgresRunnerStore(db, options.clock ? { clock: options.clock } : {});
    this.transcripts = new PostgresTranscriptStore(db);
    this.messages = new PostgresMessageStore(db);
    this.apiKeys = new PostgresApiKeyStore(db);
    this.memoryFactory = options.memory;
  }

  /** Memory's durable tier on this pool, from the `memory` option (see PostgresStoreOptions). */
  get memory(): MemoryStore {
    if (!this.memoryStore) {
      if (!this.memoryFactory) throw new ConfigError('memory on PostgreSQL is not available in this build: no memory store was given to PostgresStore');
      this.memoryStore = this.memoryFactory(this.database.db);
    }
    return this.memoryStore;
  }
}
