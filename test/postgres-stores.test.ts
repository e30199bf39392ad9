import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgres } from '../src/adapters/storage/postgres/postgres-connection.js';
import { PostgresStores } from '../src/adapters/storage/postgres/postgres-stores.js';
import { PostgresEventLog } from '../src/adapters/storage/postgres/postgres-event-log.js';
import { taskToRow } from '../src/adapters/storage/sql/rows.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { ProposalRecord, VoteRecord } from '../src/domain/consensus.js';
import { ColonyError } from '../src/domain/errors.js';
import type { TaskRecord } from '../src/domain/task.js';
import type { ProviderCircuitStore } from '../src/ports/provider-circuit-store.js';
import { runConsensusStoreConformance } from './conformance/consensus-store.js';
import { runModelCallLedgerConformance } from './conformance/model-call-ledger.js';
import { useTestDatabase, type TestDatabaseOptions } from './support/postgres.js';
import { rejectionOf } from './support/rejection.js';
import { runSwarmStoreConformance, swarmRecord } from './conformance/swarm-store.js';
import { T } from './support/task-fixtures.js';
import { runTaskProcessStoreConformance } from './conformance/task-process-store.js';

/**
 * Each suite below gets a database of its own (dropped after it), and each test a fresh schema in it
 * (dropped after the test), on which the stores run exactly as on a database of their own.
 */
function postgresFixture(options: TestDatabaseOptions = {}) {
  const place = useTestDatabase(options);
  return async () => {
    const schema = await place.freshSchema();
    const stores = new PostgresStores({ url: schema.url, poolSize: 4 });
    // Rows the ports under test refer to (tasks, runners) are written directly until the task and
    // runner ports have their PostgreSQL adapters.
    const seed = openPostgres({ url: schema.url, poolSize: 1 });
    return {
      stores,
      schema,
      // The log the swarm store's updates write their events to, read back.
      events: new PostgresEventLog(seed.db),
      insertTasks: async (tasks: readonly TaskRecord[]) => {
        if (tasks.length > 0) await seed.db.insertInto('tasks').values(tasks.map(taskToRow)).execute();
      },
      addRunner: async (id: string) => {
        await seed.db.insertInto('runners').values({ id, pid: 1, hostname: 'h', kind: 'worker', started_at: 0, heartbeat_at: 0 }).execute();
      },
      close: async () => {
        await seed.close();
        await stores.close();
      },
    };
  };
}

function postgresHost(options: TestDatabaseOptions = {}) {
  const fixture = postgresFixture(options);
  return async () => {
    const f = await fixture();
    const store = {
      swarms: f.stores.swarms,
      events: f.events,
      consensus: f.stores.consensus,
      modelCalls: f.stores.modelCalls,
      taskProcesses: f.stores.taskProcesses,
      tasks: { insert: f.insertTasks },
      migrate: () => f.stores.migrate(),
      close: f.close,
    };
    return { store, cleanup: () => f.schema.drop() };
  };
}

// The SwarmStore suite's test of a swarm's tasks needs the task port's listing (not on PostgreSQL yet).
runSwarmStoreConformance('postgres (fresh schema)', postgresHost(), { tasks: false });
runConsensusStoreConformance('postgres (fresh schema)', postgresHost());
runModelCallLedgerConformance('postgres (fresh schema)', postgresHost());
runTaskProcessStoreConformance('postgres (fresh schema)', postgresHost());

/**
 * ProviderCircuitStore has no conformance suite of its own yet; this one runs on both adapters here,
 * so that the PostgreSQL adapter is held to what the SQLite one does.
 */
function runProviderCircuitBehaviour(
  name: string,
  create: () => Promise<{ circuits: ProviderCircuitStore; addRunner: (id: string) => Promise<void>; migrate: () => Promise<void>; close: () => Promise<void>; cleanup: () => Promise<void> }>,
): void {
  describe(`ProviderCircuitStore: ${name}`, () => {
    let f: Awaited<ReturnType<typeof create>>;
    beforeEach(async () => {
      f = await create();
      await f.migrate();
    });
    afterEach(async () => {
      await f.close();
      await f.cleanup();
    });

    it('keeps one state per process and provider, the latest reported, listed by provider then runner', async () => {
      await f.circuits.report({ runnerId: 'run_b', provider: 'openai', state: 'open', changedAt: 1_000 });
      await f.circuits.report({ runnerId: 'run_a', provider: 'openai', state: 'closed', changedAt: 1_001 });
      await f.circuits.report({ runnerId: 'run_a', provider: 'anthropic', state: 'open', changedAt: 1_002 });
      await f.circuits.report({ runnerId: 'run_a', provider: 'anthropic', state: 'half-open', changedAt: 1_003 });
      await f.circuits.report({ runnerId: 'Run_c', provider: 'openai', state: 'closed', changedAt: 1_004 });
      expect(await f.circuits.list()).toEqual([
        { runnerId: 'run_a', provider: 'anthropic', state: 'half-open', changedAt: 1_003 },
        // Bytewise: upper case before lower case, whatever the database's collation.
        { runnerId: 'Run_c', provider: 'openai', state: 'closed', changedAt: 1_004 },
        { runnerId: 'run_a', provider: 'openai', state: 'closed', changedAt: 1_001 },
        { runnerId: 'run_b', provider: 'openai', state: 'open', changedAt: 1_000 },
      ]);
    });

    it('a report prunes records of unregistered processes older than an hour, and keeps registered ones', async () => {
      await f.addRunner('run_live');
      await f.circuits.report({ runnerId: 'run_gone', provider: 'openai', state: 'open', changedAt: 1_000 });
      await f.circuits.report({ runnerId: 'run_live', provider: 'openai', state: 'open', changedAt: 1_000 });
      await f.circuits.report({ runnerId: 'run_recent', provider: 'openai', state: 'open', changedAt: 3_000_000 });
      await f.circuits.report({ runnerId: 'run_new', provider: 'anthropic', state: 'closed', changedAt: 1_000 + 60 * 60_000 + 1 });
      expect((await f.circuits.list()).map((c) => c.runnerId)).toEqual(['run_new', 'run_live', 'run_recent']);
    });
  });
}

runProviderCircuitBehaviour('sqlite (temp file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colony-circuits-'));
  const store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000 });
  return {
    circuits: store.circuits,
    addRunner: (id) => store.runners.upsert({ id, pid: 1, hostname: 'h', kind: 'worker', startedAt: 0, heartbeatAt: 0 }),
    migrate: () => store.migrate(),
    close: () => store.close(),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

{
  const fixture = postgresFixture();
  runProviderCircuitBehaviour('postgres (fresh schema)', async () => {
    const f = await fixture();
    return { circuits: f.stores.circuits, addRunner: f.addRunner, migrate: () => f.stores.migrate(), close: f.close, cleanup: () => f.schema.drop() };
  });
}

describe('PostgreSQL stores: what only PostgreSQL can get wrong', () => {
  describe('in a database whose collation is not bytewise (ICU en-US)', () => {
    const fixture = postgresFixture({ icuLocale: 'en-US' });
    let f: Awaited<ReturnType<typeof fixture>>;
    beforeEach(async () => {
      f = await fixture();
      await f.stores.migrate();
    });
    afterEach(async () => {
      await f.close();
      await f.schema.drop();
    });

    it('finds ids by prefix and orders ties by id as SQLite does, byte by byte', async () => {
      // en-US sorts a < A < b; bytes sort A < a < b. A prefix is a bytewise range.
      for (const id of ['swm_a1', 'swm_A2', 'swm_ab', 'swm_b1', 'swm_a']) await f.stores.swarms.insert(swarmRecord(id, { createdAt: 5 }));
      expect(await f.stores.swarms.findIdsByPrefix('swm_a', 10)).toEqual(['swm_a', 'swm_a1', 'swm_ab']);
      expect(await f.stores.swarms.findIdsByPrefix('swm_A', 10)).toEqual(['swm_A2']);
      expect((await f.stores.swarms.list({})).map((s) => s.id)).toEqual(['swm_b1', 'swm_ab', 'swm_a1', 'swm_a', 'swm_A2']);
      await f.stores.consensus.insertProposal(proposal('prp_x1'));
      await f.stores.consensus.insertProposal(proposal('prp_X2'));
      expect(await f.stores.consensus.findProposalIdsByPrefix('prp_x', 10)).toEqual(['prp_x1']);
    });
  });

  describe('in a fresh schema', () => {
    const fixture = postgresFixture();
    let f: Awaited<ReturnType<typeof fixture>>;
    const others: PostgresStores[] = [];
    beforeEach(async () => {
      f = await fixture();
      await f.stores.migrate();
    });
    afterEach(async () => {
      await Promise.all(others.splice(0).map((s) => s.close()));
      await f.close();
      await f.schema.drop();
    });

    /** A second process on the same schema: its own pool. */
    function anotherProcess(): PostgresStores {
      const stores = new PostgresStores({ url: f.schema.url, poolSize: 4 });
      others.push(stores);
      return stores;
    }

    it('of processes updating one swarm from the same copy at once, exactly one wins', async () => {
      const swarm = swarmRecord('swm_race');
      await f.stores.swarms.insert(swarm);
      const processes = [f.stores, anotherProcess(), anotherProcess()];
      const outcomes = await Promise.all(
        processes.flatMap((p, i) =>
          [0, 1, 2].map((k) => p.swarms.update({ ...swarm, status: 'running', runnerId: `run_${i}_${k}`, updatedAt: 2_000 }, { status: 'planning', updatedAt: 1_000 })),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const winner = outcomes.indexOf(true);
      expect((await f.stores.swarms.get('swm_race'))?.runnerId).toBe(`run_${Math.floor(winner / 3)}_${winner % 3}`);
    });

    it('processes admitting calls against one budget at once never overshoot it together, and other swarms are not counted', async () => {
      const processes = [f.stores, anotherProcess(), anotherProcess()];
      const budget = { maxTokens: 1_000, maxCostUsd: null };
      const call = (id: string, swarmId: string) => ({ id, swarmId, taskId: null, agentId: null, runnerId: 'run_a', provider: 'p', model: 'm', reservedTokens: 100, reservedCostUsd: null, startedAt: T });
      const admitted = await Promise.all(
        Array.from({ length: 30 }, (_, i) => processes[i % 3]!.modelCalls.open(call(`c${i}`, i % 2 === 0 ? 'swm_even' : 'swm_odd'), budget)),
      );
      expect(admitted.filter((ok, i) => ok && i % 2 === 0)).toHaveLength(10);
      expect(admitted.filter((ok, i) => ok && i % 2 === 1)).toHaveLength(10);
      expect(await f.stores.modelCalls.swarmUsage('swm_even')).toMatchObject({ openCalls: 10, openTokens: 1_000 });
    });

    it('writes a batch of votes larger than one statement all or none', async () => {
      await f.stores.consensus.insertProposal(proposal('prp_v'));
      const votes = Array.from({ length: 1_100 }, (_, i) => vote(`agt_${i}`));
      const inserted = await f.stores.consensus.insertVotes(votes);
      expect(inserted.map((v) => v.voterId)).toEqual(votes.map((v) => v.voterId));
      expect(inserted.map((v) => v.id)).toEqual([...inserted.map((v) => v.id)].sort((a, b) => a - b));
      expect(await f.stores.consensus.listVotes({ proposalId: 'prp_v' })).toEqual(inserted);

      // The bad vote is in the third statement of the batch: the first two are undone with it.
      const bad = [...Array.from({ length: 1_050 }, (_, i) => vote(`agt_more_${i}`, { round: 2 })), vote('agt_bad', { round: 2, confidence: 2 })];
      const error = await rejectionOf(f.stores.consensus.insertVotes(bad));
      expect((error as ColonyError).code).toBe('validation');
      expect(await f.stores.consensus.listVotes({ proposalId: 'prp_v', round: 2 })).toEqual([]);
    });

    it('maps PostgreSQL errors onto Colony\'s taxonomy', async () => {
      await f.stores.swarms.insert(swarmRecord('swm_dup'));
      const duplicate = await rejectionOf(f.stores.swarms.insert(swarmRecord('swm_dup')));
      expect(duplicate).toBeInstanceOf(ColonyError);
      expect((duplicate as ColonyError).code).toBe('conflict');
      const orphan = await rejectionOf(f.stores.consensus.insertVotes([{ ...vote('agt_1'), proposalId: 'prp_none' }]));
      expect((orphan as ColonyError).code).toBe('validation');
      const outOfRange = await rejectionOf(f.stores.swarms.insert(swarmRecord('swm_bad', { progress: 2 })));
      expect((outOfRange as ColonyError).code).toBe('validation');
      expect(await f.stores.swarms.get('swm_bad')).toBeUndefined();
    });

    it('keeps doubles exact and reads 64-bit columns back as numbers', async () => {
      const swarm = swarmRecord('swm_f', { progress: 1 / 3, createdAt: 2 ** 52 + 1, updatedAt: 2 ** 52 + 1 });
      await f.stores.swarms.insert(swarm);
      expect(await f.stores.swarms.get('swm_f')).toEqual(swarm);
      expect(await f.stores.swarms.count({})).toBe(1);
      await f.stores.consensus.insertProposal(proposal('prp_v'));
      const [stored] = await f.stores.consensus.insertVotes([vote('agt_1', { confidence: 0.1 + 0.2, weight: Math.PI })]);
      expect(await f.stores.consensus.listVotes({ proposalId: 'prp_v' })).toEqual([stored]);
      expect(stored).toMatchObject({ confidence: 0.1 + 0.2, weight: Math.PI });
    });

    it('looks up any number of voter keys and flags in one statement each', async () => {
      const many = Array.from({ length: 70_000 }, (_, i) => `agt_${i}`);
      await f.stores.consensus.putVoterKey('agt_69999', 'key', T);
      // More values than a statement may have parameters (65,535): one array parameter instead.
      expect(await f.stores.consensus.getVoterKeys(many)).toEqual(new Map([['agt_69999', 'key']]));
      expect(await f.stores.consensus.listVoterFlags(many)).toEqual([]);
    });
  });
});

function proposal(id: string, overrides: Partial<ProposalRecord> = {}): ProposalRecord {
  return {
    id,
    question: `question of ${id}`,
    options: ['approve', 'reject'],
    context: null,
    settings: { strategy: 'supermajority', threshold: 2 / 3, quorum: 0.51, timeoutMs: 30_000, maxRounds: 1 },
    status: 'open',
    swarmId: null,
    taskId: null,
    voterIds: ['agt_1', 'agt_2'],
    outcome: null,
    createdAt: T,
    updatedAt: T,
    decidedAt: null,
    ...overrides,
  };
}

function vote(voterId: string, overrides: Partial<Omit<VoteRecord, 'id'>> = {}): Omit<VoteRecord, 'id'> {
  return {
    proposalId: 'prp_v',
    round: 1,
    voterId,
    decision: 'approve',
    confidence: 0.75,
    reason: `${voterId} agrees`,
    signature: 'c2lnbmF0dXJl',
    weight: 1,
    status: 'counted',
    exclusion: null,
    createdAt: T,
    ...overrides,
  };
}
