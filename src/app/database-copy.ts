import type { CopyEndpoint, SequenceReport } from '../adapters/storage/copy/copy-endpoint.js';
import type { TableShape } from '../adapters/storage/copy/copy-schema.js';
import { LATEST_MIGRATION } from '../adapters/storage/sql/migration-latest.js';
import { ColonyError, ConflictError, StorageError, ValidationError, toColonyError } from '../domain/errors.js';
import { DEFAULTS } from '../kernel/constants.js';
import type { Store } from '../ports/store.js';
import { databaseKind } from './config.js';
import { databaseLocation, databaseMayExist, openCopyEndpoint, sideError, type DatabaseSettings } from './database-copy-endpoints.js';
import { copyTable, countRows, planCopy, type CopyProgress, type TableCopy } from './database-copy-tables.js';
import { verifyCopy, type DerivedCheck, type Mismatch, type TableCheck } from './database-copy-verify.js';
import { databaseIdentity, openStore } from './open-store.js';

/** Rows per page read and per insert, unless told otherwise. */
export const DEFAULT_COPY_BATCH_SIZE = 500;
export const MAX_COPY_BATCH_SIZE = 10_000;
/** Rows per table read again after the copy and compared field by field. */
export const DEFAULT_COPY_SAMPLE_SIZE = 25;

export interface DatabaseCopyOptions {
  source: DatabaseSettings;
  target: DatabaseSettings;
  /** Copy even while tasks run or Colony processes are live on the source. */
  force?: boolean;
  batchSize?: number;
  sampleSize?: number;
  onProgress?: (event: DatabaseCopyEvent) => void;
}

export type DatabaseCopyEvent = { phase: 'migrate'; target: string } | ({ phase: 'copy' } & CopyProgress) | { phase: 'verify' };

export interface DatabaseCopySide {
  kind: 'sqlite' | 'postgres';
  location: string;
  schemaVersion: string | null;
}

export interface DatabaseCopyReport {
  source: DatabaseCopySide;
  /** `schemaBefore`: the target's version before the copy migrated it (null: a new database). */
  target: DatabaseCopySide & { schemaBefore: string | null };
  /** What `force` let through: running tasks and live processes on the source. */
  warnings: string[];
  tables: TableCheck[];
  sequences: SequenceReport[];
  derived: DerivedCheck;
  /** The first differences found (at most 20); each table counts all of its own. */
  mismatches: Mismatch[];
  /** Every count equal, every sampled row equal, the target's keyword index and vectors complete. */
  verified: boolean;
}

/**
 * Copies a Colony database into an empty one (another kind or the same): migrates the target to the
 * latest schema, copies every table in dependency order in one transaction (all or nothing), keeps
 * ids, moves the target's id sequences past them, rebuilds what each dialect derives (keyword index,
 * vectors), and then checks the target against the source snapshot it copied. Refuses, changing
 * nothing, when the target holds Colony rows, when the source is not at this build's schema, or
 * (unless `force`) while work is running on the source: what a process writes there after the copy
 * has read would not be in the copy.
 */
export async function copyDatabase(options: DatabaseCopyOptions): Promise<DatabaseCopyReport> {
  const batchSize = checkCount(options.batchSize ?? DEFAULT_COPY_BATCH_SIZE, 'batch size', 1, MAX_COPY_BATCH_SIZE);
  const sampleSize = checkCount(options.sampleSize ?? DEFAULT_COPY_SAMPLE_SIZE, 'sample size', 0, 1_000_000);
  const sourceAt = databaseLocation(options.source);
  const targetAt = databaseLocation(options.target);
  if (databaseIdentity(options.source) === databaseIdentity(options.target)) {
    throw new ValidationError(`the target is the source database (${sourceAt}): name another database to copy into`, { details: { source: sourceAt, target: targetAt } });
  }
  if (databaseKind(options.target) === 'sqlite' && options.target.path === ':memory:') {
    throw new ValidationError('cannot copy into an in-memory SQLite database: it ends with the copy; name a file (sqlite:<file>)', { details: { target: targetAt } });
  }
  if (!databaseMayExist(options.source)) {
    throw new ColonyError('not_found', `no Colony database at ${sourceAt}: nothing to copy`, { details: { source: sourceAt } });
  }
  const { schemaVersion, warnings } = await checkSource(options.source, sourceAt, options.force ?? false);

  const source = await openCopyEndpoint(options.source).catch((error: unknown) => {
    throw sideError('source', sourceAt, error);
  });
  let target: CopyEndpoint | undefined;
  try {
    const sourceTables = await source.tables().catch((error: unknown) => {
      throw sideError('source', sourceAt, source.mapError(error, 'reading the schema'));
    });
    // Checked before migrating: a target that holds rows is left exactly as it was.
    if (databaseMayExist(options.target)) {
      target = await openCopyEndpoint(options.target);
      await refuseUnlessEmpty(target, sourceTables.map((t) => t.name));
    }
    options.onProgress?.({ phase: 'migrate', target: targetAt });
    const schemaBefore = await migrate(options.target, targetAt);
    target ??= await openCopyEndpoint(options.target);
    const endpoint = target;
    const targetTables = await endpoint.tables().catch((error: unknown) => {
      throw sideError('target', targetAt, endpoint.mapError(error, 'reading the schema'));
    });
    const plans = planCopy(source, sourceTables, endpoint, targetTables);

    const outcome = await source.snapshot(async (src) => {
      const copied = await endpoint
        .transaction(async (dst) => {
          // Again inside the transaction: nothing may have been written since the first look.
          await refuseUnlessEmpty(endpoint, plans.map((p) => p.name), dst);
          const copies = new Map<string, TableCopy>();
          for (const plan of plans) {
            copies.set(plan.name, await copyTable(plan, { source, target: endpoint, src, dst, batchSize, onProgress: (p) => options.onProgress?.({ phase: 'copy', ...p }) }));
          }
          const issued = await source.issuedIds(src, sourceTables).catch((error: unknown) => {
            throw sideError('source', sourceAt, source.mapError(error, 'reading id sequences'));
          });
          const sequences = await endpoint.advanceSequences(dst, plans.map((p) => p.target), issued).catch((error: unknown) => {
            throw sideError('target', targetAt, endpoint.mapError(error, 'advancing id sequences'));
          });
          return { copies, sequences };
        })
        .catch((error: unknown) => {
          // Errors of each step name their side already; what is left is the commit itself.
          throw error instanceof ColonyError ? error : sideError('target', targetAt, endpoint.mapError(error, 'committing the copy'));
        });
      options.onProgress?.({ phase: 'verify' });
      const check = await verifyCopy(source, src, endpoint, plans, copied.copies, sampleSize).catch((error: unknown) => {
        const e = toColonyError(error);
        throw new StorageError(`checking the copy, which is committed in ${targetAt}: ${e.message}`, { cause: e, details: { target: targetAt } });
      });
      return { ...copied, check };
    }).catch((error: unknown) => {
      throw error instanceof ColonyError ? error : sideError('source', sourceAt, source.mapError(error, 'reading a snapshot'));
    });

    return {
      source: { kind: databaseKind(options.source), location: sourceAt, schemaVersion },
      target: { kind: databaseKind(options.target), location: targetAt, schemaVersion: LATEST_MIGRATION, schemaBefore },
      warnings,
      tables: outcome.check.tables,
      sequences: outcome.sequences,
      derived: outcome.check.derived,
      mismatches: outcome.check.mismatches,
      verified: outcome.check.ok,
    };
  } finally {
    await source.close();
    await target?.close();
  }
}

/** The source's schema is this build's, and (unless forced) no work runs on it. */
async function checkSource(database: DatabaseSettings, location: string, force: boolean): Promise<{ schemaVersion: string; warnings: string[] }> {
  const store = await openStore(database).catch((error: unknown) => {
    throw sideError('source', location, error);
  });
  try {
    const version = await store.schemaVersion();
    if (version === null) throw new ValidationError(`${location} is not a Colony database (it has no schema version): nothing to copy`, { details: { source: location } });
    if (version !== LATEST_MIGRATION) {
      const advice = version < LATEST_MIGRATION ? 'run `colony db migrate` on it first' : 'it was written by a newer Colony: copy it with that version';
      throw new ConflictError(`the source database ${location} is at schema ${version}, this Colony's is ${LATEST_MIGRATION}: ${advice}`, {
        details: { source: location, schemaVersion: version, latest: LATEST_MIGRATION },
      });
    }
    const warnings = await activity(store);
    if (warnings.length > 0 && !force) {
      throw new ConflictError(
        `the source database ${location} is in use: ${warnings.join('; ')}. Stop those processes first, so that nothing they write after the copy has read is lost; or copy anyway with --force (running tasks then run again on the target once their processes have ended)`,
        { details: { source: location, activity: warnings } },
      );
    }
    return { schemaVersion: version, warnings };
  } catch (error) {
    throw sideError('source', location, error);
  } finally {
    await store.close();
  }
}

/** Work in progress on the source: running tasks, and processes whose heartbeat is within the lease. */
async function activity(store: Store): Promise<string[]> {
  const counts = await store.tasks.countByStatus();
  const now = await store.runners.clock();
  const live = (await store.runners.list()).filter((r) => now - r.heartbeatAt < DEFAULTS.runnerLeaseMs);
  const out: string[] = [];
  const running = counts.running ?? 0;
  if (running > 0) out.push(`${running} task${running === 1 ? ' is' : 's are'} running`);
  for (const r of live) out.push(`a ${r.kind} process is live (pid ${r.pid} on ${r.hostname})`);
  return out;
}

async function refuseUnlessEmpty(target: CopyEndpoint, colonyTables: readonly string[], db = target.db): Promise<void> {
  const present = (await target.tables().catch((error: unknown) => {
    throw sideError('target', target.location, target.mapError(error, 'reading the schema'));
  })) as TableShape[];
  const holding: string[] = [];
  for (const table of present.filter((t) => colonyTables.includes(t.name))) {
    const rows = await countRows(db, table.name).catch((error: unknown) => {
      throw sideError('target', target.location, target.mapError(error, `reading ${table.name}`));
    });
    if (rows > 0) holding.push(`${table.name} (${rows})`);
  }
  if (holding.length > 0) {
    throw new ConflictError(`the target database ${target.location} is not empty: ${holding.join(', ')} hold rows. Copy only into an empty database; nothing was changed`, {
      details: { target: target.location, tables: holding },
    });
  }
}

/** Migrates the target to the latest schema through its store; returns the version it had. */
async function migrate(database: DatabaseSettings, location: string): Promise<string | null> {
  let store: Store | undefined;
  try {
    store = await openStore(database);
    const before = await store.schemaVersion();
    await store.migrate();
    return before;
  } catch (error) {
    throw sideError('target', location, error);
  } finally {
    await store?.close();
  }
}

function checkCount(value: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new ValidationError(`${what} must be an integer from ${min} to ${max}, got ${value}`, { details: { field: what } });
  return value;
}
