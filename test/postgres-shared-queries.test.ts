import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import * as consensus from '../src/adapters/storage/sql/consensus-queries.js';
import type { SqlContext } from '../src/adapters/storage/sql/dialect-sql.js';
import * as modelCalls from '../src/adapters/storage/sql/model-call-queries.js';
import { taskToRow } from '../src/adapters/storage/sql/rows.js';
import type { ColonyTables } from '../src/adapters/storage/sql/schema.js';
import * as swarms from '../src/adapters/storage/sql/swarm-queries.js';
import * as taskProcesses from '../src/adapters/storage/sql/task-process-queries.js';
import { kyselyDatabaseFor } from '../src/adapters/storage/sqlite/node-sqlite-kysely.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { TaskRecord } from '../src/domain/task.js';
import { runConsensusStoreConformance } from './conformance/consensus-store.js';
import { runModelCallLedgerConformance } from './conformance/model-call-ledger.js';
import { runSwarmStoreConformance } from './conformance/swarm-store.js';
import { runTaskProcessStoreConformance } from './conformance/task-process-store.js';

/**
 * The statements the PostgreSQL adapters run are written once, with Kysely, for both dialects
 * (src/adapters/storage/sql/*-queries.ts). Here they run on SQLite, through Kysely on node:sqlite,
 * against the same conformance suites: the SQLite adapters can move their cold paths onto them.
 */
function sqliteHost() {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colony-shared-sql-'));
    const path = join(dir, 'colony.db');
    let raw: DatabaseSync | undefined;
    let db: Kysely<ColonyTables> | undefined;
    const ctx = (): SqlContext => {
      if (!db) throw new Error('not migrated yet');
      return { db, dialect: 'sqlite' };
    };
    // Batches are all-or-none inside a transaction, as the PostgreSQL adapter runs them.
    const atomically = <T>(run: (c: SqlContext) => Promise<T>) => ctx().db.transaction().execute((trx) => run({ db: trx, dialect: 'sqlite' }));
    const store = {
      async migrate() {
        const migrating = new SqliteStore({ path, busyTimeoutMs: 5_000 });
        await migrating.migrate();
        await migrating.close();
        raw = new DatabaseSync(path, { timeout: 5_000 });
        raw.exec('PRAGMA foreign_keys = ON');
        db = new Kysely<ColonyTables>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(raw) }) });
      },
      async close() {
        await db?.destroy();
        raw?.close();
      },
      tasks: {
        insert: async (tasks: readonly TaskRecord[]) => {
          if (tasks.length > 0) await ctx().db.insertInto('tasks').values(tasks.map(taskToRow)).execute();
        },
      },
      swarms: {
        insert: (s: Parameters<typeof swarms.insertSwarm>[1]) => swarms.insertSwarm(ctx(), s),
        update: (next: Parameters<typeof swarms.updateSwarm>[1], expected: Parameters<typeof swarms.updateSwarm>[2]) => swarms.updateSwarm(ctx(), next, expected),
        get: (id: string) => swarms.getSwarm(ctx(), id),
        findIdsByPrefix: (prefix: string, limit: number) => swarms.swarmIdsByPrefix(ctx(), prefix, limit),
        list: (q: Parameters<typeof swarms.listSwarms>[1]) => swarms.listSwarms(ctx(), q),
        count: (q: Parameters<typeof swarms.countSwarms>[1]) => swarms.countSwarms(ctx(), q),
      },
      consensus: {
        insertProposal: (p: Parameters<typeof consensus.insertProposal>[1]) => consensus.insertProposal(ctx(), p),
        updateProposal: (p: Parameters<typeof consensus.updateProposal>[1]) => consensus.updateProposal(ctx(), p),
        getProposal: (id: string) => consensus.getProposal(ctx(), id),
        findProposalIdsByPrefix: (prefix: string, limit: number) => consensus.proposalIdsByPrefix(ctx(), prefix, limit),
        listProposals: (q: Parameters<typeof consensus.listProposals>[1]) => consensus.listProposals(ctx(), q),
        countProposals: (q: Parameters<typeof consensus.countProposals>[1]) => consensus.countProposals(ctx(), q),
        insertVotes: (votes: Parameters<typeof consensus.insertVotes>[1]) => atomically((c) => consensus.insertVotes(c, votes)),
        listVotes: (q: Parameters<typeof consensus.listVotes>[1]) => consensus.listVotes(ctx(), q),
        putVoterKey: (voterId: string, key: string, at: number) => consensus.putVoterKey(ctx(), voterId, key, at),
        getVoterKeys: (ids: readonly string[]) => consensus.getVoterKeys(ctx(), ids),
        flagVoters: (flags: Parameters<typeof consensus.flagVoters>[1]) => atomically((c) => consensus.flagVoters(c, flags)),
        listVoterFlags: (ids?: readonly string[]) => consensus.listVoterFlags(ctx(), ids),
      },
      modelCalls: {
        // One statement, atomic on SQLite (one writer at a time): no lock needed here.
        open: (call: Parameters<typeof modelCalls.openModelCall>[1], budget: Parameters<typeof modelCalls.openModelCall>[2] = { maxTokens: null, maxCostUsd: null }) =>
          modelCalls.openModelCall(ctx(), call, budget),
        refuse: (call: Parameters<typeof modelCalls.refuseModelCall>[1]) => modelCalls.refuseModelCall(ctx(), call),
        close: (id: string, usage: Parameters<typeof modelCalls.closeModelCall>[2], at: number) => modelCalls.closeModelCall(ctx(), id, usage, at),
        markLost: (runnerIds: readonly string[], at: number) => modelCalls.markModelCallsLost(ctx(), runnerIds, at),
        swarmUsage: (swarmId: string) => modelCalls.modelCallUsage(ctx(), swarmId),
        swarmUsageParts: (swarmId: string) => modelCalls.modelCallUsageParts(ctx(), swarmId),
        providerUsage: (since?: number) => modelCalls.providerCallSummaries(ctx(), since),
      },
      taskProcesses: {
        add: (r: Parameters<typeof taskProcesses.addTaskProcess>[1]) => taskProcesses.addTaskProcess(ctx(), r),
        remove: (k: Parameters<typeof taskProcesses.removeTaskProcess>[1]) => taskProcesses.removeTaskProcess(ctx(), k),
        listHeldBy: (ids: readonly string[]) => taskProcesses.taskProcessesHeldBy(ctx(), ids),
      },
    };
    return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  };
}

// The events written with an update are each adapter's own statement (not a shared query).
runSwarmStoreConformance('shared Kysely queries on sqlite', sqliteHost(), { tasks: false, events: false });
runConsensusStoreConformance('shared Kysely queries on sqlite', sqliteHost());
runModelCallLedgerConformance('shared Kysely queries on sqlite', sqliteHost());
runTaskProcessStoreConformance('shared Kysely queries on sqlite', sqliteHost());
