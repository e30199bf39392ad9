import type { DatabaseCopyEvent, DatabaseCopyReport } from '../../app/database-copy.js';
import { databaseStatus, migrateDatabase } from '../../app/database-migrate.js';
import { databaseUrlKind, SUPPORTED_DATABASE_SCHEMES } from '../../app/config.js';
import { ValidationError } from '../../domain/errors.js';
import { loadCliConfig, type GlobalOptions } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, printJson, printTable, println } from '../output.js';

/**
 * `colony db status|migrate|copy`: the project's database itself. Migrations otherwise run silently
 * when any command opens the database; `db migrate` is the explicit, reported step, and `db copy`
 * moves a project to another database (its SQLite file into PostgreSQL for team mode).
 */

export async function dbStatusCommand(options: GlobalOptions): Promise<void> {
  const status = await databaseStatus(loadCliConfig(options).config.database);
  if (options.json) return printJson(status);
  println(`${color.bold('database')}  ${status.kind} ${status.location}${status.exists ? '' : color.dim(' (not created yet)')}`);
  println(`${color.bold('schema')}    ${status.schemaVersion ?? 'none'}${status.pending.length === 0 ? color.green(' (latest)') : ''}`);
  if (status.pending.length > 0) {
    println(`${color.bold('latest')}    ${status.latestVersion}: ${color.yellow(`${status.pending.length} migration${status.pending.length === 1 ? '' : 's'} pending`)} (${status.pending.join(', ')}); \`colony db migrate\` applies them`);
  }
}

export async function dbMigrateCommand(options: GlobalOptions): Promise<void> {
  const result = await migrateDatabase(loadCliConfig(options).config.database);
  if (options.json) return printJson(result);
  const where = `${result.kind} ${result.location}`;
  if (result.applied.length === 0) {
    println(`${color.green('✓')} ${where} is at the latest schema, ${result.after}: nothing to do`);
    return;
  }
  println(`${color.green('✓')} migrated ${where}${result.exists ? '' : ' (created)'}: ${result.before ?? 'none'} → ${result.after}`);
  for (const name of result.applied) println(`  applied ${name}`);
}

export interface DbCopyOptions extends GlobalOptions {
  to: string;
  force?: boolean;
  batchSize?: number;
  sample?: number;
  quiet?: boolean;
}

/** Exit 0 when the copy checked out; 5 (a storage failure) when the check found a difference. */
export async function dbCopyCommand(options: DbCopyOptions): Promise<number> {
  if (databaseUrlKind(options.to) === undefined) {
    throw new ValidationError(`option --to: expected a database URL (${SUPPORTED_DATABASE_SCHEMES.join(', ')}), got "${redact(options.to)}"`, { details: { field: 'to' } });
  }
  const source = loadCliConfig(options).config.database;
  const target = loadCliConfig({ ...options, db: options.to }).config.database;
  const progress = options.quiet ? undefined : progressPrinter();
  // Loaded here: `db status` and `db migrate` need no query builder.
  const { copyDatabase } = await import('../../app/database-copy.js');
  const report = await copyDatabase({ source, target, force: options.force, batchSize: options.batchSize, sampleSize: options.sample, onProgress: progress });
  if (options.json) printJson(report);
  else printReport(report);
  return report.verified ? EXIT.ok : EXIT.internal;
}

function printReport(report: DatabaseCopyReport): void {
  for (const warning of report.warnings) println(color.yellow(`! copied with --force while ${warning}`));
  println(`${report.source.kind} ${report.source.location} → ${report.target.kind} ${report.target.location} (schema ${report.target.schemaVersion})`);
  printTable(
    ['TABLE', 'SOURCE', 'COPIED', 'TARGET', 'SAMPLED', 'CHECK'],
    report.tables.map((t) => [
      t.table,
      String(t.sourceRows),
      String(t.copiedRows) + (t.skippedRows > 0 ? ` (+${t.skippedRows} left out)` : ''),
      String(t.targetRows),
      String(t.sampledRows),
      t.ok ? color.green('✓') : color.red(`✗ ${t.mismatchedRows} differing`),
    ]),
  );
  if (report.sequences.length > 0) println(`next ids: ${report.sequences.map((s) => `${s.table}.${s.column} ${s.next}`).join(', ')}`);
  const { keywordIndex, vectors } = report.derived;
  println(`keyword index: ${keywordIndex.found}/${keywordIndex.expected} memory entries; vectors: ${vectors.found}/${vectors.expected} embeddings`);
  const skipped = report.tables.reduce((n, t) => n + t.skippedRows, 0);
  if (skipped > 0) println(color.yellow(`! ${skipped} embeddings had no readable vector at the source and were left out: the target's embedder computes them again`));
  for (const m of report.mismatches) println(color.red(`✗ ${m.table} ${m.key} ${m.column}: source ${JSON.stringify(m.source)}, target ${JSON.stringify(m.target)}`));
  const rows = report.tables.reduce((n, t) => n + t.copiedRows, 0);
  const sampled = report.tables.reduce((n, t) => n + t.sampledRows, 0);
  if (report.verified) println(`${color.green('✓')} copied ${rows} rows; counts equal in every table, ${sampled} sampled rows equal field by field`);
  else println(`${color.red('✗')} the copy is committed but does not match the source: see above`);
}

/** Progress on stderr: one line per table, rewritten in place on a terminal. */
function progressPrinter(): (event: DatabaseCopyEvent) => void {
  const live = process.stderr.isTTY === true;
  return (event) => {
    if (event.phase === 'migrate') process.stderr.write(`migrating ${event.target} to the latest schema\n`);
    else if (event.phase === 'verify') process.stderr.write('verifying the copy\n');
    else if (event.done) process.stderr.write(`${live ? '\r\u001b[2K' : ''}copied ${event.table}: ${event.copied}/${event.total} rows\n`);
    else if (live) process.stderr.write(`\r\u001b[2Kcopying ${event.table}: ${event.copied}/${event.total} rows`);
  };
}

/** A URL as it may be shown: without its password. */
function redact(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
