import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import type { StoredEvent } from '../src/domain/events.js';
import type { TaskRecord } from '../src/domain/task.js';
import { apiOrigin, startColonyProcess } from './support/colony-process.js';
import { usePrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { delay, eventually, tempDir } from './support/temp-colony.js';

/**
 * Team mode through a PostgreSQL restart: a real Colony process (test/fixtures/colony-process.mjs,
 * built code, serving its API) runs a DAG of a few hundred tasks on a private server (never the
 * shared one), and the server is restarted mid-run, once with a fast shutdown and once by an
 * immediate stop (a crash, with recovery at the start). The process must ride it out: no exit, work
 * resumed with nothing lost or done twice in the record, /ready 503 during the outage and 200 after,
 * /health up throughout, and the event log readable by cursor without missing anything.
 */

const LAYERS = 15;
const WIDTH = 20;
/** Each task takes this long, so that the run lasts long enough to be cut in the middle. */
const TASK_MS = 15;
/** The outage begins once this share of the DAG has completed. */
const OUTAGE_AT = 0.25;
const PROBE_EVERY_MS = 10;
const FOLLOW_EVERY_MS = 20;
const SUBMIT_EVERY_MS = 25;
const REQUEST_TIMEOUT_MS = 10_000;
/** Generous: the whole run after the outage, on a loaded 2-core machine. */
const RUN_TIMEOUT_MS = 240_000;

const server = usePrivatePostgres();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Phase = 'before' | 'outage' | 'after';

describe('a colony process through a PostgreSQL restart', () => {
  it('rides out a fast restart (pg_ctl restart -m fast) mid-run', async () => {
    await runThroughOutage('fast', (pg) => pg.restart('fast'));
  });

  it('rides out an immediate stop (a crash) and a start with recovery, mid-run', async () => {
    await runThroughOutage('immediate', async (pg, outage) => {
      await pg.stop('immediate');
      // Down until the process has shown it (/ready 503) and refused a submission: a real outage, not a blip.
      await outage.seen();
      await pg.start();
    });
  });
});

interface Outage {
  /** Resolves once /ready has answered 503 and a submission was refused during the outage. */
  seen(): Promise<void>;
}

async function runThroughOutage(name: string, outage: (pg: PrivatePostgres, watch: Outage) => Promise<void>): Promise<void> {
  const pg = await server();
  const url = await pg.createDatabase(`restart_${name}`);
  const dir = tempDir('colony-pg-restart-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // This colony only submits and reads (it is never started): the process runs the work.
  const colony = await createColony({ projectDir: dir, env: {}, config: { database: { url, poolSize: 2 }, log: { level: 'silent' } } });
  cleanups.push(() => colony.close({ drainTimeoutMs: 0 }));
  colony.registerExecutor({ type: 'noop', execute: async ({ task }) => task.id });
  const child = await startColonyProcess(cleanups, dir, url, { args: ['--api', '--task-ms', String(TASK_MS)] });
  const origin = apiOrigin(child);

  let phase: Phase = 'before';
  const ready = poll(`${origin}/ready`, () => phase);
  const health = poll(`${origin}/health`, () => phase);
  const follower = follow(colony);
  cleanups.push(() => Promise.all([ready.stop(), health.stop(), follower.stop()]).then(() => undefined));

  const submitted = await colony.tasks.submit(dag());
  const total = submitted.length;
  const before = await eventually(async () => {
    const counts = await colony.store.tasks.countByStatus().catch(() => undefined);
    return counts && counts.completed >= total * OUTAGE_AT ? counts : undefined;
  });
  // Mid-run: work is left for after the outage.
  expect(before.completed).toBeLessThan(total);

  phase = 'outage';
  const submissions = submitWhile(origin, () => phase === 'outage');
  await outage(pg, {
    seen: async () => {
      await eventually(() => {
        if (exited(child)) throw new Error(`the colony process exited (${child.exitCode ?? child.signalCode}) when PostgreSQL stopped`);
        return ready.samples.some((s) => s.phase === 'outage' && s.status === 503) && submissions.refused > 0;
      }, RUN_TIMEOUT_MS);
    },
  });
  phase = 'after';
  await submissions.stop();

  // Every task in the database completes: the DAG's, and those submitted during the outage.
  const all = await eventually(async () => {
    if (exited(child)) throw new Error(`the colony process exited (${child.exitCode ?? child.signalCode}) after a PostgreSQL ${name} restart`);
    const tasks = await allTasks(colony).catch(() => undefined);
    return tasks && tasks.every((t) => t.status === 'completed') && tasks.length >= total ? tasks : undefined;
  }, RUN_TIMEOUT_MS);
  await eventually(() => ready.samples.at(-1)?.status === 200, RUN_TIMEOUT_MS);
  expect(exited(child)).toBe(false);

  // /ready said not ready during the outage and ready after; /health never failed.
  expect(ready.samples.filter((s) => s.phase === 'outage').map((s) => s.status)).toContain(503);
  expect(ready.samples.at(-1)?.status).toBe(200);
  expect(health.samples.length).toBeGreaterThan(0);
  expect(health.samples.filter((s) => s.status !== 200)).toEqual([]);

  // Nothing acknowledged is lost: the DAG and every submission answered 201, each completed.
  const byId = new Map(all.map((t) => [t.id, t]));
  for (const task of submitted) expect(byId.get(task.id)?.status).toBe('completed');
  for (const id of submissions.acknowledged) expect(byId.get(id)?.status).toBe('completed');
  // Each task's result is its own id (the executor returns it): nothing crossed over.
  expect(all.filter((t) => t.result !== t.id)).toEqual([]);
  // Dependencies held across the outage: no task started before its dependencies completed.
  for (const task of all) {
    for (const dependency of task.dependencies) {
      expect(task.startedAt ?? 0).toBeGreaterThanOrEqual(byId.get(dependency)?.completedAt ?? Number.POSITIVE_INFINITY);
    }
  }

  // The record: exactly one completion per task, in an event log whose ids increase.
  const log = await eventually(async () => {
    const events = await readLog(colony);
    return events.filter((e) => e.type === 'task.completed').length >= all.length ? events : undefined;
  });
  const ids = log.map((e) => e.id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);
  const completions = new Map<string, number>();
  for (const event of log) {
    if (event.type !== 'task.completed') continue;
    const taskId = (event.data as { taskId: string }).taskId;
    completions.set(taskId, (completions.get(taskId) ?? 0) + 1);
  }
  expect([...completions.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  expect(new Set(completions.keys())).toEqual(new Set(all.map((t) => t.id)));

  // A reader that followed the log by cursor through the outage missed nothing: no event was
  // committed behind its cursor (the gaps in ids that it skipped stay empty).
  await eventually(() => (follower.events.at(-1)?.id ?? 0) >= (ids.at(-1) ?? 0));
  await follower.stop();
  expect(follower.events.map((e) => e.id)).toEqual(ids.filter((id) => id <= (follower.events.at(-1)?.id ?? 0)));
}

/** LAYERS x WIDTH tasks; each after the first layer depends on two tasks of the layer before. */
function dag(): { type: string; name: string; dependencies?: string[] }[] {
  const specs: { type: string; name: string; dependencies?: string[] }[] = [];
  for (let layer = 0; layer < LAYERS; layer++) {
    for (let i = 0; i < WIDTH; i++) {
      const name = `l${layer}-${i}`;
      specs.push(layer === 0 ? { type: 'noop', name } : { type: 'noop', name, dependencies: [`l${layer - 1}-${i}`, `l${layer - 1}-${(i + 1) % WIDTH}`] });
    }
  }
  return specs;
}

interface Sample {
  phase: Phase;
  /** The HTTP status, or 0 when no answer came (the process not listening). */
  status: number;
}

/** GETs `url` over and over until stopped, recording each answer with the phase it was asked in. */
function poll(url: string, phase: () => Phase): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const asked = phase();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        await response.arrayBuffer();
        samples.push({ phase: asked, status: response.status });
      } catch {
        samples.push({ phase: asked, status: 0 });
      }
      await delay(PROBE_EVERY_MS);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** POSTs a task over and over while `on()`: which were acknowledged (201), how many refused (503). */
function submitWhile(origin: string, on: () => boolean): { acknowledged: string[]; refused: number; stop(): Promise<void> } {
  const state = { acknowledged: [] as string[], refused: 0 };
  let running = true;
  const loop = (async () => {
    while (running && on()) {
      try {
        const response = await fetch(`${origin}/api/v2/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'noop' }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const body = (await response.json()) as { id?: string; code?: string };
        if (response.status === 201 && body.id) state.acknowledged.push(body.id);
        // The store unavailable is a retryable 503, never a 500 or a dropped request.
        else if (response.status === 503) state.refused++;
        else throw new Error(`POST /api/v2/tasks during the outage: ${response.status} ${JSON.stringify(body)}`);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('POST')) throw error;
        state.refused++;
      }
      await delay(SUBMIT_EVERY_MS);
    }
  })();
  return {
    get acknowledged() {
      return state.acknowledged;
    },
    get refused() {
      return state.refused;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Reads the event log by cursor, as a stream follower does, through the outage (failed reads are tried again). */
function follow(colony: Colony): { events: StoredEvent[]; stop(): Promise<void> } {
  const events: StoredEvent[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const page = await colony.events.list({ afterId: events.at(-1)?.id ?? 0, limit: 1_000 });
        events.push(...page);
      } catch {
        // The database is down: the next read tries again from the same cursor.
      }
      await delay(FOLLOW_EVERY_MS);
    }
  })();
  return {
    events,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function readLog(colony: Colony): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for (;;) {
    const page = await colony.events.list({ afterId: events.at(-1)?.id ?? 0, limit: 1_000 });
    if (page.length === 0) return events;
    events.push(...page);
  }
}

async function allTasks(colony: Colony): Promise<TaskRecord[]> {
  return colony.store.tasks.list({ limit: 10_000 });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
