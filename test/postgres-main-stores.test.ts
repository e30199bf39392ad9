import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_CHANNELS_QUERY } from '../src/adapters/storage/postgres/schema-channels.js';
import { EVENT_APPEND_LOCK_NAMESPACE } from '../src/adapters/storage/postgres/postgres-store-locks.js';
import { PostgresStore } from '../src/adapters/storage/postgres/postgres-store.js';
import { ColonyError } from '../src/domain/errors.js';
import type { TaskRecord } from '../src/domain/task.js';
import type { NewEvent } from '../src/ports/event-log.js';
import type { MemoryStore } from '../src/ports/memory-store.js';
import type { ReadyTaskClaim } from '../src/ports/task-store.js';
import { useTestDatabase, type TestDatabaseOptions, type TestSchema } from './support/postgres.js';
import { rejectionOf } from './support/rejection.js';
import { swarmRecord } from './conformance/swarm-store.js';
import { T } from './support/task-fixtures.js';
import { agent, ids, task, workflow } from './conformance/store-fixtures.js';

/**
 * The PostgreSQL adapters of the main store's aggregate ports (PostgresStore), on real PostgreSQL:
 * each test has a fresh schema, and the tests of several processes open several stores (one pool
 * each, as processes would have) on that schema. The behaviour every adapter shares is the
 * conformance suites' (test/postgres-conformance.test.ts); these are PostgreSQL's own: concurrency
 * across pools, commit order in the event log, collation, the schema's PostgreSQL-only parts.
 */
function usePostgresStores(options: TestDatabaseOptions = {}) {
  const place = useTestDatabase(options);
  let schema: TestSchema;
  const opened: PostgresStore[] = [];
  const clients: pg.Client[] = [];
  const context = {
    store: undefined as unknown as PostgresStore,
    /** The schema's URL. */
    url: () => schema.url,
    /** Another process's store on the same schema: a pool of its own. */
    another(poolSize = 4): PostgresStore {
      const store = new PostgresStore({ url: schema.url, poolSize });
      opened.push(store);
      return store;
    },
    /** A plain connection to the schema, for what no adapter does (open transactions, LISTEN). */
    async client(): Promise<pg.Client> {
      const client = new pg.Client({ connectionString: schema.url });
      clients.push(client);
      await client.connect();
      return client;
    },
  };
  beforeEach(async () => {
    schema = await place.freshSchema();
    context.store = context.another();
    await context.store.migrate();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await schema.drop();
  });
  return context;
}

describe('PostgresStore: the schema', () => {
  const f = usePostgresStores();

  it('records each event with its transaction, and walks the ready queue by an index in byte-wise id order', async () => {
    const client = await f.client();
    const column = await client.query(`select data_type, column_default from information_schema.columns where table_schema = current_schema() and table_name = 'events' and column_name = 'xid'`);
    expect(column.rows).toEqual([{ data_type: 'xid8', column_default: 'pg_current_xact_id()' }]);
    const index = await client.query(`select indexdef from pg_indexes where schemaname = current_schema() and indexname = 'idx_tasks_ready'`);
    expect(index.rows[0]?.indexdef).toMatch(/\(priority DESC, id COLLATE "C"\) WHERE \(status = 'queued'::text\)/);

    const [id] = await f.store.events.append([event('task.created', {})]);
    const row = await client.query(`select xid::text as xid from events where id = $1`, [id]);
    expect(BigInt(row.rows[0].xid)).toBeGreaterThan(0n);
  });

  it('memory is plugged in from outside, built once on the store\'s pool; without it, memory says so and the rest works', async () => {
    expect(() => f.store.memory).toThrow(ColonyError);
    expect(await f.store.tasks.count({})).toBe(0);

    const built: unknown[] = [];
    const memory = { plugged: true } as unknown as MemoryStore;
    const withMemory = new PostgresStore({ url: f.url(), poolSize: 1, memory: (db) => (built.push(db), memory) });
    try {
      expect(withMemory.memory).toBe(memory);
      expect(withMemory.memory).toBe(memory);
      expect(built).toHaveLength(1);
    } finally {
      await withMemory.close();
    }
  });
});

describe('PostgresStore: tasks', () => {
  const f = usePostgresStores();
  const claim = (store: PostgresStore, patch: Partial<ReadyTaskClaim> = {}) =>
    store.tasks.claimReady({ runnerId: 'run_1', scope: {}, limit: 10, now: T + 60_000, ...patch });

  it('inserts a batch larger than one statement takes, parents after their children in the batch, all or none', async () => {
    // 2,500 tasks of 25 columns are more parameters than one PostgreSQL statement takes (65,535).
    const many = Array.from({ length: 2_500 }, (_, i) => task(`tsk_${String(i).padStart(5, '0')}`, { dependencies: i > 0 ? [`tsk_${String(i - 1).padStart(5, '0')}`] : [] }));
    const child = task('tsk_child', { parentId: 'tsk_parent' });
    await f.store.tasks.insert([...many, child, task('tsk_parent')]);
    expect(await f.store.tasks.count({})).toBe(2_502);
    expect(await f.store.tasks.listDependents('tsk_02498')).toEqual(['tsk_02499']);

    const failing = [...Array.from({ length: 2_000 }, (_, i) => task(`tsk_new_${i}`)), task('tsk_bad', { dependencies: ['tsk_missing'] })];
    const error = await rejectionOf(f.store.tasks.insert(failing));
    expect((error as ColonyError).code).toBe('validation');
    expect(await f.store.tasks.count({})).toBe(2_502);
    // A duplicate id is a conflict (SQLSTATE 23505), mapped by postgres-errors.ts.
    expect(((await rejectionOf(f.store.tasks.insert([task('tsk_parent')]))) as ColonyError).code).toBe('conflict');
  });

  it('orders and finds ids byte-wise, as SQLite does, whatever the collation', async () => {
    await f.store.tasks.insert([task('tsk_a'), task('tsk_B'), task('tsk_b'), task('tsk_A1'), task('tsk_a_'), task('tsk_a1')]);
    expect(ids(await f.store.tasks.list({}))).toEqual(['tsk_A1', 'tsk_B', 'tsk_a', 'tsk_a1', 'tsk_a_', 'tsk_b']);
    expect(await f.store.tasks.findIdsByPrefix('tsk_a', 10)).toEqual(['tsk_a', 'tsk_a1', 'tsk_a_']);
    expect(await f.store.tasks.findIdsByPrefix('tsk_A', 10)).toEqual(['tsk_A1']);
  });

  it('updateMany writes every change or none, and a group never deadlocks with another sharing its tasks', async () => {
    await f.store.tasks.insert([task('tsk_a', { status: 'running', attempts: 1 }), task('tsk_b'), task('tsk_c')]);
    const a = (await f.store.tasks.get('tsk_a')) as TaskRecord;
    const b = (await f.store.tasks.get('tsk_b')) as TaskRecord;
    const c = (await f.store.tasks.get('tsk_c')) as TaskRecord;
    const stale = await f.store.tasks.updateMany([
      { next: { ...a, status: 'completed' }, expected: { status: 'running', attempts: 1 } },
      { next: { ...b, status: 'queued' }, expected: { status: 'pending', attempts: 0 } },
      { next: { ...c, status: 'queued' }, expected: { status: 'queued', attempts: 0 } },
    ]);
    expect(stale).toBe(false);
    expect(await f.store.tasks.get('tsk_a')).toEqual(a);
    expect(await f.store.tasks.get('tsk_b')).toEqual(b);

    // Groups over the same tasks listed in opposite orders, from several pools at once: each is all
    // or none, exactly one of those expecting the same state wins, and none fails with a deadlock.
    const stores = [f.store, f.another(), f.another()];
    const groups = Array.from({ length: 12 }, (_, i) => {
      const changes = [
        { next: { ...b, status: 'queued' as const, priority: i }, expected: { status: 'pending' as const, attempts: 0 } },
        { next: { ...c, status: 'queued' as const, priority: i }, expected: { status: 'pending' as const, attempts: 0 } },
      ];
      return (stores[i % stores.length] as PostgresStore).tasks.updateMany(i % 2 === 0 ? changes : changes.reverse());
    });
    const outcomes = await Promise.all(groups);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes.indexOf(true);
    expect((await f.store.tasks.get('tsk_b'))?.priority).toBe(winner);
    expect((await f.store.tasks.get('tsk_c'))?.priority).toBe(winner);
  });

  it('a claim returns at most its limit, and runs its pick once (a pick run again per row claimed more)', async () => {
    await f.store.workflows.insert(workflow('wf_1'));
    await f.store.swarms.insert(swarmRecord('swm_1'));
    await f.store.tasks.insert([
      task('tsk_b', { status: 'queued', priority: 5 }),
      task('tsk_B', { status: 'queued', priority: 5 }),
      task('tsk_top', { status: 'queued', priority: 9, notBefore: T + 60_000 }),
      task('tsk_later', { status: 'queued', priority: 99, notBefore: T + 60_001 }),
      task('tsk_wf', { status: 'queued', priority: 1, workflowId: 'wf_1', type: 'shell' }),
      task('tsk_sw', { status: 'queued', priority: 1, swarmId: 'swm_1' }),
      task('tsk_root', { status: 'completed' }),
      task('tsk_sub', { status: 'queued', priority: 1, parentId: 'tsk_root' }),
      task('tsk_subsub', { status: 'queued', priority: 1, parentId: 'tsk_sub' }),
    ]);
    expect(ids(await claim(f.store, { types: ['shell'] }))).toEqual(['tsk_wf']);
    expect(ids(await claim(f.store, { scope: { swarmId: 'swm_1' } }))).toEqual(['tsk_sw']);
    expect(ids(await claim(f.store, { scope: { taskIds: ['tsk_root'] }, exclude: ['tsk_sub'] }))).toEqual(['tsk_subsub']);
    const claimed = await claim(f.store, { limit: 3, runnerId: 'run_2' });
    expect(ids(claimed)).toEqual(['tsk_top', 'tsk_B', 'tsk_b']);
    expect(claimed[0]).toMatchObject({ status: 'running', attempts: 1, runnerId: 'run_2', notBefore: null, startedAt: T + 60_000, updatedAt: T + 60_000 });
    expect(ids(await claim(f.store))).toEqual(['tsk_sub']);
    expect(await claim(f.store)).toEqual([]);
    expect(ids(await claim(f.store, { now: T + 60_001 }))).toEqual(['tsk_later']);
  });

  it('four processes claiming 2,000 tasks at once: every task is claimed once, by the runner it was returned to', async () => {
    const n = 2_000;
    await f.store.tasks.insert(Array.from({ length: n }, (_, i) => task(`tsk_${String(i).padStart(5, '0')}`, { status: 'queued', priority: i % 7 })));
    const processes = [f.store, f.another(), f.another(), f.another()];
    const claimedBy = await Promise.all(
      processes.map(async (store, p) => {
        const mine: TaskRecord[] = [];
        // Several claimers per process, as a worker's concurrent slots are.
        await Promise.all(
          Array.from({ length: 3 }, async (_, c) => {
            for (;;) {
              const batch = await claim(store, { runnerId: `run_${p}`, limit: 1 + ((p + c) % 4) * 8 });
              if (batch.length === 0) return;
              mine.push(...batch);
            }
          }),
        );
        return mine;
      }),
    );
    const all = claimedBy.flat();
    expect(all).toHaveLength(n);
    expect(new Set(ids(all)).size).toBe(n);
    // Every process got some: the claims really ran side by side.
    for (const mine of claimedBy) expect(mine.length).toBeGreaterThan(0);
    const stored = await f.store.tasks.list({});
    const runnerOf = new Map(claimedBy.flatMap((mine, p) => mine.map((t) => [t.id, `run_${p}`] as const)));
    for (const t of stored) {
      expect(t).toMatchObject({ status: 'running', attempts: 1 });
      expect(t.runnerId).toBe(runnerOf.get(t.id));
    }
  });
});

describe('PostgresStore: agents', () => {
  const f = usePostgresStores();

  it('slots claimed and released from several processes at once: none is lost or overbooked, and the streak counts every failure', async () => {
    await f.store.agents.insert(agent('agt_1', { maxConcurrency: 3 }));
    const stores = [f.store, f.another(), f.another(), f.another()];
    const thresholds = { degraded: 1_000, unhealthy: 2_000 };
    let failures = 0;
    await Promise.all(
      stores.map(async (store, p) => {
        for (let i = 0; i < 40; i++) {
          const taskId = `tsk_${p}_${i}`;
          const claimed = await store.agents.claimSlot('agt_1', taskId, T + i);
          if (!claimed) continue;
          expect(claimed.currentTasks).toContain(taskId);
          expect(claimed.currentTasks.length).toBeLessThanOrEqual(3);
          // Held across a round trip, while the other processes claim and release.
          expect((await store.agents.get('agt_1'))?.currentTasks).toContain(taskId);
          const outcome = i % 3 === 0 ? 'failure' : 'lost';
          const released = await store.agents.releaseSlot('agt_1', taskId, outcome, thresholds, T + i);
          expect(released?.agent.currentTasks).not.toContain(taskId);
          if (outcome === 'failure') failures++;
        }
      }),
    );
    const final = await f.store.agents.get('agt_1');
    expect(final).toMatchObject({ currentTasks: [], status: 'idle' });
    expect(failures).toBeGreaterThan(0);
    const client = await f.client();
    const streak = await client.query(`select failure_streak from agents where id = 'agt_1'`);
    expect(streak.rows[0].failure_streak).toBe(failures);
  });

  it('assignments from several processes at once: each slot goes to one task, and every task records the agent that holds it', async () => {
    await f.store.agents.insert(agent('agt_a', { maxConcurrency: 3 }));
    await f.store.agents.insert(agent('agt_b', { maxConcurrency: 2 }));
    const n = 30;
    await f.store.tasks.insert(Array.from({ length: n }, (_, i) => task(`tsk_${String(i).padStart(2, '0')}`, { status: 'running', attempts: 1 })));
    const stores = [f.store, f.another(), f.another()];
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) => (stores[i % 3] as PostgresStore).tasks.assignAgent({ taskId: `tsk_${String(i).padStart(2, '0')}`, attempts: 1, agentIds: i % 2 ? ['agt_a', 'agt_b'] : ['agt_b', 'agt_a'], now: T + i })),
    );
    expect(outcomes.filter((o) => 'agent' in o)).toHaveLength(5);
    for (const id of ['agt_a', 'agt_b']) {
      const held = (await f.store.agents.get(id))?.currentTasks ?? [];
      expect([...held].sort()).toEqual(ids(await f.store.tasks.list({ assignedAgent: id })));
    }
  });

  it('inserts under a pool bound from several processes at once never overshoot it', async () => {
    const stores = [f.store, f.another(), f.another(), f.another()];
    const inserted = await Promise.all(Array.from({ length: 24 }, (_, i) => (stores[i % 4] as PostgresStore).agents.insert(agent(`agt_${String(i).padStart(2, '0')}`), { maxActive: 5 })));
    expect(inserted.filter(Boolean)).toHaveLength(5);
    expect(await f.store.agents.count({ excludeTerminated: true })).toBe(5);
  });
});

describe('PostgresStore: events', () => {
  const f = usePostgresStores();

  it('a cursor following the log while several processes append never skips or repeats an event', async () => {
    const writers = [f.store, f.another(), f.another(), f.another()];
    const reader = f.another(2);
    const seen: number[] = [];
    let cursor = 0;
    const readPage = async () => {
      const page = await reader.events.list({ afterId: cursor, limit: 7 });
      for (const e of page) seen.push(e.id);
      cursor = page.at(-1)?.id ?? cursor;
      return page.length;
    };
    let appending = true;
    const appends = Promise.all(
      writers.map(async (store, w) => {
        const mine: number[] = [];
        // Several appends in flight per process, as an event bus flushing while events keep coming.
        await Promise.all(
          Array.from({ length: 3 }, async (_, c) => {
            for (let i = 0; i < 15; i++) mine.push(...(await store.events.append(Array.from({ length: 1 + ((w + c + i) % 3) }, () => event('task.created', { w, c, i })))));
          }),
        );
        return mine;
      }),
    ).finally(() => {
      appending = false;
    });
    for (let reads = 0; appending && reads < 100_000; reads++) await readPage();
    const appended = (await appends).flat();
    while ((await readPage()) > 0);
    expect(new Set(appended).size).toBe(appended.length);
    expect(seen).toEqual([...appended].sort((a, b) => a - b));
  });

  it('takes ids only under the append lock: an append waits for one in progress and gets later ids', async () => {
    const holder = await f.client();
    const waiters = await f.client();
    await holder.query('begin');
    let first: number;
    let appended: number[] | undefined;
    let waiting: Promise<void>;
    try {
      // The lock an append takes, held here as an append in progress holds it.
      await holder.query(`select pg_advisory_xact_lock($1, hashtext(current_schema()))`, [EVENT_APPEND_LOCK_NAMESPACE]);
      first = Number((await holder.query(`insert into events (type, source, data, correlation_id, timestamp) values ('task.created', 'holder', '{}', null, 1) returning id`)).rows[0].id);
      waiting = f.another().events.append([event('task.queued', {})]).then((got) => {
        appended = got;
      });
      // It waits for the lock rather than taking an id now.
      for (let i = 0; i < 500; i++) {
        const { rows } = await waiters.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and classid = $1 and database = (select oid from pg_database where datname = current_database())`,
          [EVENT_APPEND_LOCK_NAMESPACE],
        );
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(appended).toBeUndefined();
    } finally {
      // Held as briefly as possible: an open transaction holds back every reader of the server.
      await holder.query('commit');
    }
    await waiting;
    expect(appended?.[0]).toBeGreaterThan(first);
    expect((await f.store.events.list({})).map((e) => e.id)).toEqual([first, ...(appended ?? [])]);
  });

  it("notifies its schema's events channel with the highest id of each append, at its commit", async () => {
    const listener = await f.client();
    const { rows } = await listener.query<{ events: string }>(SCHEMA_CHANNELS_QUERY);
    const channel = rows[0]?.events as string;
    expect(channel).toMatch(/^colony_events_[0-9a-f]{16}$/);
    const payloads: string[] = [];
    listener.on('notification', (n) => {
      if (n.channel === channel && n.payload !== undefined) payloads.push(n.payload);
    });
    await listener.query(`listen ${channel}`);
    const a = await f.store.events.append([event('task.created', {}), event('task.queued', {})]);
    const b = await f.another().events.append([event('task.started', {})]);
    for (let i = 0; i < 500 && payloads.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(payloads.map(Number).sort((x, y) => x - y)).toEqual([a[1], b[0]]);
  });

  it('stores data of any JSON type and keeps a batch in order', async () => {
    const data = ['a string', 0, null, true, [1, 'x'], { nested: { ok: null } }];
    const appended = await f.store.events.append(data.map((d, i) => event(`t.${i}`, d as NewEvent['data'], i % 2 === 0 ? null : `c${i}`)));
    const listed = await f.store.events.list({});
    expect(listed.map((e) => e.id)).toEqual(appended);
    expect(listed.map((e) => e.data)).toEqual(data);
    expect(listed.map((e) => e.correlationId)).toEqual([null, 'c1', null, 'c3', null, 'c5']);
  });
});

describe('PostgresStore: events and ids in a database with a linguistic collation (ICU en-US)', () => {
  const f = usePostgresStores({ icuLocale: 'en-US' });

  it('matches type prefixes and orders ids byte-wise, as on SQLite', async () => {
    await f.store.events.append([event('task.created', { n: 1 }), event('taskx', { n: 2 }), event('task-y', { n: 3 }), event('task.Z', { n: 4 }), event('tasks.a', { n: 5 })]);
    const n = (list: { data: unknown }[]) => list.map((e) => (e.data as { n: number }).n);
    expect(n(await f.store.events.list({ types: ['task.*'] }))).toEqual([1, 4]);
    expect(n(await f.store.events.list({ types: ['task.*', 'taskx'] }))).toEqual([1, 2, 4]);

    for (const id of ['agt_b', 'agt_B', 'agt_a_', 'agt_a1']) await f.store.agents.insert(agent(id));
    expect(ids(await f.store.agents.list({}))).toEqual(['agt_B', 'agt_a1', 'agt_a_', 'agt_b']);
    expect(await f.store.agents.findIdsByPrefix('agt_a', 10)).toEqual(['agt_a1', 'agt_a_']);
    await f.store.tasks.insert([task('tsk_b', { status: 'queued' }), task('tsk_B', { status: 'queued' })]);
    expect(ids(await f.store.tasks.claimReady({ runnerId: 'r', scope: {}, limit: 5, now: T }))).toEqual(['tsk_B', 'tsk_b']);
  });
});

describe('PostgresStore: messages', () => {
  const f = usePostgresStores();

  it('readers in several processes marking their inbox read never receive one message twice', async () => {
    const n = 300;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => f.store.messages.send({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: null, body: `m${i + j}`, createdAt: T + i + j })));
    }
    await f.store.messages.send({ fromAgent: 'agt_a', toAgent: 'agt_other', taskId: null, body: 'not yours', createdAt: T });
    const readers = [f.store, f.another(), f.another(), f.another()];
    const received = await Promise.all(
      readers.flatMap((store, r) =>
        Array.from({ length: 2 }, async () => {
          const got: string[] = [];
          for (;;) {
            const batch = await store.messages.readInbox('agt_b', { limit: 7, markRead: true, readAt: T + 1_000 + r });
            if (batch.length === 0) return got;
            for (const m of batch) expect(m.readAt).toBe(T + 1_000 + r);
            // Oldest first within a batch.
            expect(batch.map((m) => m.id)).toEqual([...batch.map((m) => m.id)].sort((a, b) => a - b));
            got.push(...batch.map((m) => m.body));
          }
        }),
      ),
    );
    const all = received.flat();
    expect(all).toHaveLength(n);
    expect(new Set(all).size).toBe(n);
    expect((await f.store.messages.readInbox('agt_other', { limit: 10 })).map((m) => m.body)).toEqual(['not yours']);
  });

  it('refuses markRead without readAt, changing nothing', async () => {
    await f.store.messages.send({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: null, body: 'x', createdAt: T });
    const error = await rejectionOf(f.store.messages.readInbox('agt_b', { limit: 1, markRead: true }));
    expect((error as ColonyError).code).toBe('validation');
    expect(await f.store.messages.readInbox('agt_b', { limit: 1 })).toHaveLength(1);
  });
});

describe('PostgresStore: runners', () => {
  const f = usePostgresStores();

  it("reads the server's clock, in whole milliseconds, the same from every process", async () => {
    const client = await f.client();
    const server = async () => Number((await client.query(`select floor(extract(epoch from clock_timestamp()) * 1000)::bigint as now`)).rows[0].now);
    const before = await server();
    const readings = [await f.store.runners.clock(), await f.another().runners.clock()];
    const after = await server();
    for (const at of readings) {
      expect(Number.isSafeInteger(at)).toBe(true);
      // Rounded to the nearest millisecond: at most one above the floor read after it.
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after + 1);
    }
  });

  it('a test may fix the clock', async () => {
    const fixed = new PostgresStore({ url: f.url(), clock: () => 42 });
    try {
      expect(await fixed.runners.clock()).toBe(42);
    } finally {
      await fixed.close();
    }
  });
});

// ---- fixtures ----

function event(type: string, data: NewEvent['data'], correlationId: string | null = 'c1'): NewEvent {
  return { type, source: 'test', data, correlationId, timestamp: T };
}
