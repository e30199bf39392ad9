import { sql, type Kysely, type Migration } from 'kysely';

export type SqlDialectName = 'sqlite' | 'postgres';

/**
 * Versioned migrations, in order. Names sort lexically; never edit a released one, add a new one.
 * `json` columns get a validity check on SQLite and the jsonb type on PostgreSQL.
 */
export function colonyMigrations(dialect: SqlDialectName): Record<string, Migration> {
  const json = dialect === 'postgres' ? sql`jsonb` : sql`text`;
  const jsonCheck = (column: string) => (dialect === 'sqlite' ? sql`json_valid(${sql.ref(column)})` : sql`true`);
  const id = (table: string) =>
    dialect === 'postgres'
      ? sql.raw(`create table ${table} (id bigserial primary key`)
      : sql.raw(`create table ${table} (id integer primary key autoincrement`);
  const ts = dialect === 'postgres' ? 'bigint' : 'integer';
  // SQLite's REAL is an 8-byte double; PostgreSQL's `real` is 4 bytes and would round 1/3 to
  // 0.33333334. The PostgreSQL branch of these migrations never ran before the PostgreSQL adapters
  // existed (no database was created by it), so this was corrected in place, not by a new migration.
  const float = dialect === 'postgres' ? 'double precision' : 'real';

  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('agents')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('idle','busy','paused','error','terminated')`))
          .addColumn('health', 'text', (c) => c.notNull().check(sql`health in ('healthy','degraded','unhealthy')`))
          .addColumn('capabilities', json, (c) => c.notNull().check(jsonCheck('capabilities')))
          .addColumn('config', json, (c) => c.notNull().check(jsonCheck('config')))
          .addColumn('current_tasks', json, (c) => c.notNull().check(jsonCheck('current_tasks')))
          .addColumn('max_concurrency', 'integer', (c) => c.notNull().check(sql`max_concurrency >= 1`))
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addColumn('terminated_at', ts)
          .execute();
        await db.schema.createIndex('idx_agents_status').on('agents').column('status').execute();
        await db.schema.createIndex('idx_agents_type').on('agents').column('type').execute();

        await db.schema
          .createTable('workflows')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('source', 'text')
          .addColumn('definition_hash', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running','completed','failed','cancelled')`))
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addColumn('completed_at', ts)
          .execute();
        await db.schema.createIndex('idx_workflows_hash').on('workflows').columns(['definition_hash', 'status']).execute();

        await db.schema
          .createTable('swarms')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('topology', 'text', (c) => c.notNull())
          .addColumn('objective', 'text')
          .addColumn('config', json, (c) => c.notNull().check(jsonCheck('config')))
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('progress', float, (c) => c.notNull().defaultTo(0).check(sql`progress >= 0 and progress <= 1`))
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('idx_swarms_status').on('swarms').column('status').execute();

        await db.schema
          .createTable('tasks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) =>
            c.notNull().check(sql`status in ('pending','queued','running','completed','failed','cancelled')`),
          )
          .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(50))
          .addColumn('input', json, (c) => c.notNull().check(jsonCheck('input')))
          .addColumn('dependencies', json, (c) => c.notNull().check(jsonCheck('dependencies')))
          .addColumn('parent_id', 'text', (c) => c.references('tasks.id').onDelete('set null'))
          .addColumn('workflow_id', 'text', (c) => c.references('workflows.id').onDelete('cascade'))
          .addColumn('swarm_id', 'text', (c) => c.references('swarms.id').onDelete('cascade'))
          .addColumn('requirements', json, (c) => c.notNull().check(jsonCheck('requirements')))
          .addColumn('assigned_agent', 'text', (c) => c.references('agents.id').onDelete('set null'))
          .addColumn('timeout_ms', 'integer')
          .addColumn('max_retries', 'integer', (c) => c.notNull().check(sql`max_retries >= 0`))
          .addColumn('max_attempts', 'integer', (c) => c.notNull().check(sql`max_attempts >= 1`))
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('result', json, (c) => c.check(sql`result is null or ${jsonCheck('result')}`))
          .addColumn('error', json, (c) => c.check(sql`error is null or ${jsonCheck('error')}`))
          .addColumn('runner_id', 'text')
          .addColumn('not_before', ts)
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addColumn('started_at', ts)
          .addColumn('completed_at', ts)
          .execute();
        // Every state change rewrites the index entries of the columns it changes, so the status
        // indexes are kept lean: partial indexes for the ready queue and for running tasks, which
        // are only touched when a task enters or leaves that state.
        await db.schema.createIndex('idx_tasks_status').on('tasks').column('status').execute();
        await db.schema
          .createIndex('idx_tasks_ready')
          .on('tasks')
          .columns(['priority desc', 'id'])
          .where(sql.ref('status'), '=', 'queued')
          .execute();
        await db.schema.createIndex('idx_tasks_workflow').on('tasks').column('workflow_id').execute();
        await db.schema.createIndex('idx_tasks_parent').on('tasks').column('parent_id').execute();
        await db.schema.createIndex('idx_tasks_agent').on('tasks').column('assigned_agent').execute();
        await db.schema.createIndex('idx_tasks_running').on('tasks').column('runner_id').where(sql.ref('status'), '=', 'running').execute();
        await db.schema.createIndex('idx_tasks_swarm').on('tasks').column('swarm_id').execute();

        await db.schema
          .createTable('task_dependencies')
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('depends_on', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addPrimaryKeyConstraint('pk_task_dependencies', ['task_id', 'depends_on'])
          .execute();
        await db.schema.createIndex('idx_task_dependencies_depends_on').on('task_dependencies').column('depends_on').execute();

        await db.schema
          .createTable('memory')
          .addColumn('namespace', 'text', (c) => c.notNull().defaultTo('default'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', json, (c) => c.notNull().check(jsonCheck('value')))
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('expires_at', ts)
          .addColumn('tags', json, (c) => c.notNull().check(jsonCheck('tags')))
          .addColumn('metadata', json, (c) => c.notNull().check(jsonCheck('metadata')))
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addColumn('accessed_at', ts, (c) => c.notNull())
          .addColumn('access_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint('pk_memory', ['namespace', 'key'])
          .execute();
        await db.schema.createIndex('idx_memory_expires').on('memory').column('expires_at').execute();

        await sql`${id('events')}, type text not null, source text not null, data ${json} not null check (${jsonCheck('data')}), correlation_id text, timestamp ${sql.raw(ts)} not null)`.execute(db);
        // The seed also indexes source and timestamp; events are appended in time order, so the id
        // already orders them by time, and no query filters by source. Each extra index costs about
        // 60% more per insert on the hottest table (measured), so only these two are kept.
        await db.schema.createIndex('idx_events_type').on('events').column('type').execute();
        await db.schema.createIndex('idx_events_correlation').on('events').column('correlation_id').execute();

        await sql`${id('metrics')}, entity_type text not null, entity_id text not null, metric_name text not null, metric_value ${sql.raw(float)} not null, metadata ${json} check (metadata is null or ${jsonCheck('metadata')}), timestamp ${sql.raw(ts)} not null)`.execute(db);
        await db.schema.createIndex('idx_metrics_entity').on('metrics').columns(['entity_type', 'entity_id']).execute();
        await db.schema.createIndex('idx_metrics_name').on('metrics').column('metric_name').execute();
        await db.schema.createIndex('idx_metrics_timestamp').on('metrics').column('timestamp').execute();

        await db.schema
          .createTable('runners')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('pid', 'integer', (c) => c.notNull())
          .addColumn('hostname', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('started_at', ts, (c) => c.notNull())
          .addColumn('heartbeat_at', ts, (c) => c.notNull())
          .execute();
      },
    },

    '0002_agent_runtime': {
      async up(db: Kysely<unknown>) {
        // The transcript of each agent run: one row per message of the tool-use loop.
        await sql`${id('agent_turns')}, task_id text not null references tasks (id) on delete cascade, agent_id text, attempt integer not null check (attempt >= 0), turn integer not null check (turn >= 0), role text not null check (role in ('system','user','assistant','tool')), content ${json} not null check (${jsonCheck('content')}), usage ${json} check (usage is null or ${jsonCheck('usage')}), model text, provider text, created_at ${sql.raw(ts)} not null)`.execute(db);
        await db.schema.createIndex('idx_agent_turns_task').on('agent_turns').columns(['task_id', 'attempt', 'turn']).execute();

        // What a task's file writes replaced, saved before each first write, for rollback after a crash.
        await db.schema
          .createTable('task_journals')
          .addColumn('task_id', 'text', (c) => c.primaryKey().references('tasks.id').onDelete('cascade'))
          .addColumn('journal', json, (c) => c.notNull().check(jsonCheck('journal')))
          .addColumn('updated_at', ts, (c) => c.notNull())
          .execute();

        await sql`${id('agent_messages')}, from_agent text not null, to_agent text not null, task_id text references tasks (id) on delete set null, body text not null, created_at ${sql.raw(ts)} not null, read_at ${sql.raw(ts)})`.execute(db);
        await db.schema.createIndex('idx_agent_messages_inbox').on('agent_messages').columns(['to_agent', 'read_at']).execute();
      },
    },

    '0003_memory': {
      async up(db: Kysely<unknown>) {
        // The durable tier of memory. 0001's `memory` table was a placeholder that no released code
        // wrote to; it is replaced rather than altered. Values live in a content-addressed table, so
        // that identical values are stored once; the adapter compresses large ones.
        await db.schema.dropTable('memory').execute();
        const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
        await sql`create table memory_blobs (
          hash text primary key,
          data ${bytes} not null,
          compressed integer not null check (compressed in (0, 1)),
          size integer not null check (size >= 0),
          refcount integer not null check (refcount >= 0)
        )`.execute(db);

        // SQLite: fts_rowid is the entry's row in memory_fts. PostgreSQL: the adapter writes the
        // entry's searchable text (key, value strings, tags) into the tsvector column `search`.
        const search = dialect === 'postgres' ? sql`search tsvector not null` : sql`fts_rowid integer`;
        await sql`create table memory (
          namespace text not null,
          key text not null,
          version integer not null check (version >= 1),
          value_ref text not null references memory_blobs (hash),
          tags ${json} not null check (${jsonCheck('tags')}),
          metadata ${json} not null check (${jsonCheck('metadata')}),
          expires_at ${sql.raw(ts)},
          created_at ${sql.raw(ts)} not null,
          updated_at ${sql.raw(ts)} not null,
          accessed_at ${sql.raw(ts)} not null,
          access_count integer not null default 0,
          ${search},
          primary key (namespace, key)
        )`.execute(db);
        // The primary key's index serves lookups and listing by namespace (and key prefix); the
        // garbage collector finds expired entries through this partial index.
        await db.schema.createIndex('idx_memory_expires').on('memory').column('expires_at').where(sql.ref('expires_at'), 'is not', null).execute();
        await db.schema.createIndex('idx_memory_value_ref').on('memory').column('value_ref').execute();
        if (dialect === 'postgres') {
          await sql`create index idx_memory_search on memory using gin (search)`.execute(db);
          await sql`create index idx_memory_tags on memory using gin (tags jsonb_path_ops)`.execute(db);
        } else {
          await db.schema.createIndex('idx_memory_fts_rowid').on('memory').column('fts_rowid').unique().execute();
          // Contentless (the text is not stored twice: the value is in memory_blobs); rows are
          // deleted by rowid. Porter stemming so that "caching" finds "cache".
          await sql`create virtual table memory_fts using fts5(
            namespace, key, text, tags,
            content = '', contentless_delete = 1,
            tokenize = 'porter unicode61 remove_diacritics 2'
          )`.execute(db);
        }

        // Which entries have a vector for which embedding model. The vectors themselves: on SQLite in
        // sqlite-vec vec0 tables created by the adapter on first use (memory_vec_<dims>, rowid = id),
        // because migrations run without the extension loaded. On PostgreSQL likewise in pgvector
        // tables (a `vector(<dims>)` column and its HNSW index) that the memory adapter creates on
        // first use, and only when the `vector` extension is available: many servers lack it (Debian
        // 12's PostgreSQL 15 has no package for it), and no migration may depend on it, so that a
        // server without it migrates and runs everything but vector search.
        await sql`${id('memory_embeddings')},
          namespace text not null,
          key text not null,
          version integer not null check (version >= 1),
          model text not null,
          dims integer not null check (dims > 0),
          created_at ${sql.raw(ts)} not null,
          unique (namespace, key, model),
          foreign key (namespace, key) references memory (namespace, key) on delete cascade
        )`.execute(db);
        await db.schema.createIndex('idx_memory_embeddings_model').on('memory_embeddings').columns(['model', 'dims']).execute();
      },
    },

    '0004_api_keys': {
      async up(db: Kysely<unknown>) {
        // API keys for the REST API and the WebSocket stream. Only a SHA-256 hash of each key is
        // stored (the key is shown once, when created); `id` is the public prefix the key carries,
        // so that a presented key is found by primary key and then compared in constant time.
        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin','operator','viewer')`))
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('last_used_at', ts)
          .addColumn('revoked_at', ts)
          .execute();
      },
    },

    '0005_swarms_consensus': {
      async up(db: Kysely<unknown>) {
        // Swarms existed as a table since 0001 but were never written; now they carry their plan,
        // result, usage, leader and roster, and the runner that coordinates them (crash recovery).
        const addJson = async (column: string, notNull: string | null) => {
          await db.schema
            .alterTable('swarms')
            .addColumn(column, json, (c) => {
              const withDefault = notNull === null ? c : c.notNull().defaultTo(notNull);
              return withDefault.check(sql`${sql.ref(column)} is null or ${jsonCheck(column)}`);
            })
            .execute();
        };
        await addJson('plan', null);
        await addJson('result', null);
        await addJson('error', null);
        await addJson('usage', '{}');
        await addJson('agent_ids', '[]');
        await db.schema.alterTable('swarms').addColumn('leader_agent_id', 'text').execute();
        await db.schema.alterTable('swarms').addColumn('runner_id', 'text').execute();
        await db.schema.alterTable('swarms').addColumn('started_at', ts).execute();
        await db.schema.alterTable('swarms').addColumn('finished_at', ts).execute();

        await db.schema
          .createTable('consensus_proposals')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('question', 'text', (c) => c.notNull())
          .addColumn('options', json, (c) => c.notNull().check(jsonCheck('options')))
          .addColumn('context', 'text')
          .addColumn('settings', json, (c) => c.notNull().check(jsonCheck('settings')))
          .addColumn('status', 'text', (c) =>
            c.notNull().check(sql`status in ('open','accepted','rejected','no_consensus','quorum_failed','failed')`),
          )
          .addColumn('swarm_id', 'text', (c) => c.references('swarms.id').onDelete('cascade'))
          .addColumn('task_id', 'text', (c) => c.references('tasks.id').onDelete('set null'))
          .addColumn('voter_ids', json, (c) => c.notNull().check(jsonCheck('voter_ids')))
          .addColumn('outcome', json, (c) => c.check(sql`outcome is null or ${jsonCheck('outcome')}`))
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addColumn('decided_at', ts)
          .execute();
        await db.schema.createIndex('idx_consensus_proposals_swarm').on('consensus_proposals').column('swarm_id').execute();
        await db.schema.createIndex('idx_consensus_proposals_task').on('consensus_proposals').column('task_id').execute();

        await sql`${id('consensus_votes')},
          proposal_id text not null references consensus_proposals (id) on delete cascade,
          round integer not null check (round >= 1),
          voter_id text not null,
          decision text not null,
          confidence ${sql.raw(float)} not null check (confidence >= 0 and confidence <= 1),
          reason text not null,
          signature text not null,
          weight ${sql.raw(float)} not null,
          status text not null check (status in ('counted','excluded')),
          exclusion text,
          created_at ${sql.raw(ts)} not null
        )`.execute(db);
        await db.schema.createIndex('idx_consensus_votes_proposal').on('consensus_votes').columns(['proposal_id', 'round']).execute();

        // Public keys only: a voter's private key never leaves the process that votes for it.
        await db.schema
          .createTable('voter_keys')
          .addColumn('voter_id', 'text', (c) => c.primaryKey())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('created_at', ts, (c) => c.notNull())
          .execute();

        await sql`${id('voter_flags')},
          voter_id text not null,
          proposal_id text not null references consensus_proposals (id) on delete cascade,
          round integer not null,
          reason text not null,
          flagged_at ${sql.raw(ts)} not null
        )`.execute(db);
        await db.schema.createIndex('idx_voter_flags_voter').on('voter_flags').column('voter_id').execute();
      },
    },
    '0006_agent_failure_streak': {
      async up(db: Kysely<unknown>) {
        // An agent's consecutive failures lived in each process's memory, so processes disagreed on
        // its health; the streak is now kept with the agent and changed only by atomic statements.
        await db.schema.alterTable('agents').addColumn('failure_streak', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0007_model_calls': {
      async up(db: Kysely<unknown>) {
        // A swarm's usage came from the llm.usage events its own process saw; now every process
        // records each model call here, before it is made (with a reservation) and after.
        await db.schema
          .createTable('model_calls')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('swarm_id', 'text', (c) => c.notNull())
          .addColumn('task_id', 'text')
          .addColumn('agent_id', 'text')
          .addColumn('runner_id', 'text')
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'closed', 'lost', 'refused')`))
          .addColumn('reserved_tokens', ts, (c) => c.notNull())
          .addColumn('reserved_cost_usd', float)
          .addColumn('input_tokens', ts, (c) => c.notNull().defaultTo(0))
          .addColumn('output_tokens', ts, (c) => c.notNull().defaultTo(0))
          .addColumn('cost_usd', float)
          .addColumn('started_at', ts, (c) => c.notNull())
          .addColumn('ended_at', ts)
          .execute();
        await db.schema.createIndex('idx_model_calls_swarm').on('model_calls').column('swarm_id').execute();
        await db.schema.createIndex('idx_model_calls_open').on('model_calls').columns(['status', 'runner_id']).execute();
      },
    },
    '0008_provider_circuits': {
      async up(db: Kysely<unknown>) {
        // Breaker states were read back from provider.state_changed events, so a process that died
        // with its breaker open kept it open in `colony status` for good. Each process now keeps its
        // own state here, and readers show only those of live runners.
        await db.schema
          .createTable('provider_circuits')
          .addColumn('runner_id', 'text', (c) => c.notNull())
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('closed', 'open', 'half-open')`))
          .addColumn('changed_at', ts, (c) => c.notNull())
          .addPrimaryKeyConstraint('pk_provider_circuits', ['runner_id', 'provider'])
          .execute();
      },
    },
    '0009_task_processes': {
      async up(db: Kysely<unknown>) {
        // A task's shell command outlived a runner killed with SIGKILL, and recovery started a second
        // copy beside it. Each process group a task attempt starts is recorded here while it runs, so
        // that recovery on the same host can end a dead runner's groups before the task runs again.
        await db.schema
          .createTable('task_processes')
          .addColumn('hostname', 'text', (c) => c.notNull())
          .addColumn('pgid', 'integer', (c) => c.notNull())
          .addColumn('runner_id', 'text', (c) => c.notNull())
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('leader_start_time', 'text')
          .addColumn('started_at', ts, (c) => c.notNull())
          .addPrimaryKeyConstraint('pk_task_processes', ['hostname', 'pgid'])
          .execute();
        await db.schema.createIndex('idx_task_processes_runner').on('task_processes').column('runner_id').execute();
      },
    },
    '0010_event_commit_order': {
      async up(db: Kysely<unknown>) {
        // PostgreSQL only; nothing changes on SQLite, where one writer at a time makes id order commit
        // order and a byte-wise order is the only one text has.
        if (dialect !== 'postgres') return;
        // Each event keeps the transaction that appended it, so that readers return only events of
        // transactions older than every one still running (EventLog.list: a cursor never skips an id
        // committed late). Rows already there get 0, older than any transaction, without a rewrite of
        // the table; new rows get their own transaction's id.
        await sql`alter table events add column xid xid8 not null default '0'`.execute(db);
        await sql`alter table events alter column xid set default pg_current_xact_id()`.execute(db);
        // Claims walk the ready queue by priority, then id compared byte-wise as on SQLite: the index
        // orders ids the same way, whatever the database's collation, so a claim stops at its limit
        // instead of sorting every queued task.
        await sql`drop index idx_tasks_ready`.execute(db);
        await sql`create index idx_tasks_ready on tasks (priority desc, id collate "C") where status = 'queued'`.execute(db);
      },
    },
    '0011_memory_postgres': {
      async up(db: Kysely<unknown>) {
        // PostgreSQL only (the memory adapter for it came after 0003); nothing changes on SQLite.
        if (dialect !== 'postgres') return;
        // Addresses compare byte by byte, as on SQLite: listing orders by namespace then key in code
        // point order and a key prefix is a range of the primary key, whatever the database's collation.
        await sql`alter table memory alter column namespace type text collate "C", alter column key type text collate "C"`.execute(db);
        await sql`alter table memory_embeddings alter column namespace type text collate "C", alter column key type text collate "C"`.execute(db);
        // Keyword search stems English words, as SQLite's porter tokenizer does, and like it keeps every
        // word: no stop-word list, so that any word of a query may match (BM25-style weights make
        // common words count little).
        await sql`create text search dictionary memory_english_stem (template = pg_catalog.snowball, language = english)`.execute(db);
        await sql`create text search configuration memory_search (copy = pg_catalog.english)`.execute(db);
        await sql`alter text search configuration memory_search
          alter mapping for asciiword, asciihword, hword_asciipart, word, hword, hword_part with memory_english_stem`.execute(db);
        // The vector itself, beside its bookkeeping: float4 components, as the embedder produced them.
        // Searched exactly when the server lacks pgvector; with it, the adapter indexes the column by
        // an HNSW index per vector length (an expression index `(embedding::vector(n))`, partial on
        // `dims = n`), created on first use, so that no migration depends on the extension.
        await sql`alter table memory_embeddings add column embedding real[] check (embedding is null or cardinality(embedding) = dims)`.execute(db);
      },
    },
    '0012_process_roles': {
      async up(db: Kysely<unknown>) {
        // Team mode: processes serve, work or both, and workers serve pools. A runner records whether
        // it runs tasks and its pools; a task may name the pool whose runners alone may run it. Rows
        // already there: runners ran tasks of no pool, tasks belong to none.
        await db.schema.alterTable('runners').addColumn('runs_tasks', 'integer', (c) => c.notNull().defaultTo(1)).execute();
        await db.schema.alterTable('runners').addColumn('pools', json, (c) => c.notNull().defaultTo('[]').check(jsonCheck('pools'))).execute();
        await db.schema.alterTable('tasks').addColumn('pool', 'text').execute();
      },
    },
    '0013_memory_vec_partition': {
      async up(db: Kysely<unknown>) {
        // SQLite only. The vec0 tables (memory_vec_<dims>, made by the memory adapter) kept `model` as
        // a text metadata column: vec0 stores 12 bytes of such a string beside each vector, and for
        // longer names (colony-local-hash-384 has 21) it compared every vector's full string from
        // another table, which doubled the KNN scan. As the partition key, the table is sharded by
        // model and the scan reads only that model's chunks. Rebuilt with the same rows.
        if (dialect !== 'sqlite') return;
        const { rows } = await sql<{ name: string; sql: string }>`
          select name, sql from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%USING vec0(%'`.execute(db);
        const old = rows.filter((t) => /^memory_vec_\d+$/.test(t.name) && !/model text partition key/.test(t.sql));
        if (old.length === 0) return;
        // The store loads sqlite-vec before migrating. Where it cannot be loaded, the tables stay as
        // they are: the adapter's SQL reads and writes both layouts alike, only the scan is slower.
        try {
          await sql`select vec_version()`.execute(db);
        } catch {
          return;
        }
        for (const { name } of old) {
          const dims = Number(name.slice('memory_vec_'.length));
          const table = sql.raw(name);
          await sql`create temp table memory_vec_move as select rowid as id, embedding, model, namespace from ${table}`.execute(db);
          await sql`drop table ${table}`.execute(db);
          await sql.raw(
            `create virtual table ${name} using vec0(embedding float[${dims}] distance_metric=cosine, model text partition key, namespace text)`,
          ).execute(db);
          await sql`insert into ${table} (rowid, embedding, model, namespace) select id, embedding, model, namespace from memory_vec_move order by id`.execute(db);
          await sql`drop table memory_vec_move`.execute(db);
        }
      },
    },
    '0014_task_trace_parent': {
      async up(db: Kysely<unknown>) {
        // Traces: a task keeps the W3C traceparent of the span that created it, so that the worker
        // running it (another process, another host) traces its attempts in the same trace. Rows
        // already there, and tasks created with tracing off, have none.
        await db.schema.alterTable('tasks').addColumn('trace_parent', 'text').execute();
      },
    },
  };
}
