/**
 * The newest migration's name. A store whose recorded schema is at this version skips loading the
 * migrator (and Kysely) entirely; `test/migrations.test.ts` fails if this lags behind migrations.ts.
 */
export const LATEST_MIGRATION = '0014_task_trace_parent';
