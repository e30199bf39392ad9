// Team mode benchmarks: trivial persisted tasks run by 1, 2 and 4 worker processes on PostgreSQL, and
// on a SQLite file for comparison; claim latency (ready to running); event delivery from a worker
// process to a WebSocket client of another (API) process.
//
// PostgreSQL: COLONY_BENCH_POSTGRES_URL names a database to connect to for creating and dropping the
// benchmark's own databases (default postgres://root@127.0.0.1:5432/test). Each measurement runs in a
// fresh database, dropped afterwards.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import { createColony } from '../dist/index.js';
import { nowMs, report, summarize } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ADMIN_URL = process.env.COLONY_BENCH_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const THROUGHPUT_TASKS = Number(process.env.COLONY_BENCH_TEAM_TASKS ?? 20_000);
const WORKER_CONCURRENCY = 64;
const LATENCY_TASKS = 400;
/** Tasks submitted per batch in the latency runs, and the pause between batches: a steady trickle. */
const LATENCY_BATCH = 4;
const LATENCY_PAUSE_MS = 10;
const SUBMIT_BATCH = 2_000;

let databases = 0;

async function withPostgresDatabase(fn) {
  const name = `colony_bench_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function withProject(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'colony-team-bench-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The benchmark's own colony: submits tasks (it knows their types) and runs only the gate. */
async function openColony(dir, url) {
  const colony = await createColony({ projectDir: dir, env: {}, config: { log: { level: 'silent' }, ...(url ? { database: { url } } : {}) } });
  colony.registerExecutor({ type: 'noop', execute: async () => null });
  colony.registerExecutor({ type: 'gate', execute: async () => null });
  return colony;
}

async function startWorkers(dir, url, count) {
  const workers = [];
  try {
    for (let i = 0; i < count; i++) {
      const child = spawn(process.execPath, [join(HERE, 'team-worker.js'), dir, url ?? '', String(WORKER_CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = once(child, 'exit');
      workers.push({ child, exited });
      const [line] = await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited.then(() => [null])]);
      if (line !== 'started') throw new Error(`worker ${i + 1} did not start`);
    }
    return { stop: () => stopAll(workers) };
  } catch (error) {
    await stopAll(workers);
    throw error;
  }
}

async function stopAll(workers) {
  for (const { child } of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}

async function waitUntilDone(colony, ids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await colony.tasks.countByStatus();
    if (counts.pending + counts.queued + counts.running === 0) break;
    if (Date.now() > deadline) throw new Error(`tasks not done after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const tasks = [];
  for (let i = 0; i < ids.length; i += 1_000) tasks.push(...(await colony.tasks.list({ ids: ids.slice(i, i + 1_000) })));
  const failed = tasks.filter((t) => t.status !== 'completed');
  if (tasks.length !== ids.length) throw new Error(`${ids.length - tasks.length} tasks are missing`);
  if (failed.length > 0) throw new Error(`${failed.length} tasks did not complete`);
  return tasks;
}

/**
 * N tasks held behind one gate task (of a type no worker runs) while the workers start; then the gate
 * is completed here, which makes all N ready at once. The rate is N over the span from the first
 * task's start to the last one's completion, as the records show.
 */
async function throughput(dir, url, workerCount) {
  const colony = await openColony(dir, url);
  try {
    const [gate] = await colony.tasks.submit([{ type: 'gate', name: 'gate' }]);
    const ids = [];
    for (let i = 0; i < THROUGHPUT_TASKS; i += SUBMIT_BATCH) {
      const specs = Array.from({ length: Math.min(SUBMIT_BATCH, THROUGHPUT_TASKS - i) }, () => ({ type: 'noop', dependencies: [gate.id] }));
      ids.push(...(await colony.tasks.submit(specs)).map((t) => t.id));
    }
    const workers = await startWorkers(dir, url, workerCount);
    try {
      await colony.start({ scope: { taskIds: [gate.id] } });
      const tasks = await waitUntilDone(colony, ids, 600_000);
      const first = Math.min(...tasks.map((t) => t.startedAt));
      const last = Math.max(...tasks.map((t) => t.completedAt));
      const runners = new Set(tasks.map((t) => t.runnerId)).size;
      return { rate: (THROUGHPUT_TASKS / (last - first)) * 1000, spanMs: last - first, runners };
    } finally {
      await workers.stop();
    }
  } finally {
    await colony.close({ drainTimeoutMs: 0 });
  }
}

/** Tasks submitted a few at a time to idle workers: each one's wait from its creation (queued) to its start. */
async function claimLatency(dir, url) {
  const colony = await openColony(dir, url);
  const workers = await startWorkers(dir, url, 2);
  try {
    const ids = [];
    for (let i = 0; i < LATENCY_TASKS; i += LATENCY_BATCH) {
      ids.push(...(await colony.tasks.submit(Array.from({ length: LATENCY_BATCH }, () => ({ type: 'noop' })))).map((t) => t.id));
      await new Promise((r) => setTimeout(r, LATENCY_PAUSE_MS));
    }
    const tasks = await waitUntilDone(colony, ids, 120_000);
    return summarize(tasks.map((t) => t.startedAt - t.createdAt));
  } finally {
    await workers.stop();
    await colony.close({ drainTimeoutMs: 0 });
  }
}

/**
 * An API process that runs no work (`colony up --no-work`), a worker process, and a WebSocket client of
 * the API process here: the delay from a worker publishing `task.completed` (its timestamp) to the
 * client receiving it. One host, so the clocks agree.
 */
async function eventDelivery(dir, url) {
  const cli = join(HERE, '..', 'dist', 'cli', 'main.js');
  const api = spawn(process.execPath, [cli, '--json', 'up', '--no-work', '--port', '0', '--db', url], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, COLONY_LOG_LEVEL: 'silent' } });
  const apiExited = once(api, 'exit');
  let workers = null;
  let ws = null;
  const colony = await openColony(dir, url);
  try {
    const [line] = await Promise.race([once(createInterface({ input: api.stdout }), 'line'), apiExited.then(() => [null])]);
    if (!line) throw new Error('colony up --no-work did not start');
    const { events } = JSON.parse(line);
    workers = await startWorkers(dir, url, 1);
    const delays = new Map();
    ws = new WebSocket(`${events}?types=task.completed`);
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'event') delays.set(message.event.correlationId, Date.now() - message.event.timestamp);
    });
    await once(ws, 'open');
    const ids = [];
    for (let i = 0; i < LATENCY_TASKS; i += LATENCY_BATCH) {
      ids.push(...(await colony.tasks.submit(Array.from({ length: LATENCY_BATCH }, () => ({ type: 'noop' })))).map((t) => t.id));
      await new Promise((r) => setTimeout(r, LATENCY_PAUSE_MS));
    }
    await waitUntilDone(colony, ids, 120_000);
    const deadline = Date.now() + 30_000;
    while (ids.some((id) => !delays.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const missing = ids.filter((id) => !delays.has(id)).length;
    if (missing > 0) throw new Error(`${missing} task.completed events never reached the WebSocket client`);
    return summarize(ids.map((id) => delays.get(id)));
  } finally {
    ws?.terminate();
    await workers?.stop();
    await colony.close({ drainTimeoutMs: 0 });
    if (api.exitCode === null && api.signalCode === null) api.kill('SIGTERM');
    await apiExited;
  }
}

export async function run() {
  const rows = [];
  const counts = [1, 2, 4];
  const pgRates = [];
  for (const n of counts) {
    const t0 = nowMs();
    const result = await withProject((dir) => withPostgresDatabase((url) => throughput(dir, url, n)));
    pgRates.push(result.rate);
    rows.push({
      name: `PostgreSQL, ${n} worker${n > 1 ? 's' : ''}`,
      value: result.rate,
      unit: 'tasks/s',
      target: n === 4 ? '>= 10,000' : '',
      detail: `${THROUGHPUT_TASKS} trivial tasks in ${result.spanMs} ms (first start to last completion), ran on ${result.runners} runners; ${((nowMs() - t0) / 1000).toFixed(1)} s with setup`,
    });
  }
  for (const n of [1, 2]) {
    const result = await withProject((dir) => throughput(dir, undefined, n));
    rows.push({ name: `SQLite, ${n} worker${n > 1 ? 's' : ''}`, value: result.rate, unit: 'tasks/s', target: '', detail: `${THROUGHPUT_TASKS} trivial tasks in ${result.spanMs} ms, ran on ${result.runners} runners` });
  }
  const claim = await withProject((dir) => withPostgresDatabase((url) => claimLatency(dir, url)));
  rows.push({ name: 'claim latency, PostgreSQL (p50)', value: claim.p50, unit: 'ms', target: '', detail: `${claim.n} tasks submitted ${LATENCY_BATCH} at a time to 2 idle workers; created to started` });
  rows.push({ name: 'claim latency, PostgreSQL (p99)', value: claim.p99, unit: 'ms', target: '< 10 ms', detail: `max ${claim.max} ms` });
  const delivery = await withProject((dir) => withPostgresDatabase((url) => eventDelivery(dir, url)));
  rows.push({ name: 'event delivery, worker to WebSocket (p50)', value: delivery.p50, unit: 'ms', target: '', detail: `${delivery.n} task.completed events, worker process to a client of a colony up --no-work process` });
  rows.push({ name: 'event delivery, worker to WebSocket (p99)', value: delivery.p99, unit: 'ms', target: '< 20 ms', detail: `max ${delivery.max} ms` });
  const monotonic = pgRates.every((rate, i) => i === 0 || rate >= pgRates[i - 1] * 0.95);
  rows.push({ name: 'more workers never slower', value: monotonic ? 'yes' : 'no', unit: '', target: 'yes', detail: pgRates.map((r) => Math.round(r)).join(' / ') + ' tasks/s with 1 / 2 / 4 workers' });
  report('team', rows);
}
