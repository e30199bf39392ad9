// REST API and WebSocket benchmarks. The server runs in its own process (this file, forked with
// --serve), so that the load generator does not share its event loop:
// - REST GET latency (p50/p99, connections 1) and throughput (connections 32) with autocannon,
//   against /health and GET /api/v2/tasks?limit=20 (1,000 tasks in the store), without and with an
//   API key;
// - WebSocket fan-out: one event published, delivered to 1,000 connected clients; time from publish
//   to delivery at the first and at the last client (p50/p99), and a burst's delivery rate.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { nowMs, report, summarize, withTempColony } from './harness.js';

const SEEDED_TASKS = 1_000;
const LATENCY_SECONDS = Number(process.env.BENCH_API_SECONDS ?? 5);
const THROUGHPUT_CONNECTIONS = 32;
const WS_CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 1_000);
const WS_EVENTS = Number(process.env.BENCH_WS_EVENTS ?? 200);
const WS_BURST = 100;

/** A wall clock with sub-millisecond resolution that two processes on one machine share. */
const wallMs = () => performance.timeOrigin + performance.now();

// ---- the server process ----

async function serve() {
  const { createServer } = await import('../dist/api/create-server.js');
  await withTempColony({ server: { rateLimit: { max: 1_000_000_000, windowMs: 60_000 } } }, async (colony) => {
    colony.registerExecutor({ type: 'noop', execute: async () => null });
    await colony.tasks.submit(Array.from({ length: SEEDED_TASKS }, (_, i) => ({ type: 'noop', name: `t${i}`, input: { i } })));
    const server = await createServer(colony, { host: '127.0.0.1', port: 0, eventStream: { maxPendingMessages: 100_000 } });
    const address = await server.listen();
    const { key } = await server.keys.create({ role: 'viewer', name: 'bench' });
    // The key turns authentication on; the first runs go without it, so it is handed out but
    // authentication is switched on only when asked.
    await colony.store.apiKeys.revoke(key.split('_')[1], Date.now());
    server.auth.keysChanged();
    let activeKey = null;
    process.on('message', async (message) => {
      if (message.type === 'auth-on') {
        activeKey = (await server.keys.create({ role: 'viewer', name: 'bench' })).key;
        server.auth.keysChanged();
        process.send({ type: 'auth-on', key: activeKey });
      } else if (message.type === 'clients') {
        process.send({ type: 'clients', count: server.hub.size });
      } else if (message.type === 'publish') {
        for (let i = 0; i < message.count; i++) {
          colony.events.publish('agent.output', { taskId: 'tsk_bench', agentId: null, text: `${message.seq + i}|${wallMs()}` }, { source: 'bench', correlationId: 'bench' });
        }
      } else if (message.type === 'stop') {
        await server.close();
        process.send({ type: 'stopped' });
      }
    });
    process.send({ type: 'ready', address });
    await once(process, 'disconnect');
  });
}

// ---- the load generator ----

async function autocannonRun(url, connections, headers = {}) {
  const { default: autocannon } = await import('autocannon');
  const samples = [];
  const instance = autocannon({ url, connections, duration: LATENCY_SECONDS, headers });
  instance.on('response', (_client, _status, _bytes, ms) => samples.push(ms));
  const result = await instance;
  const non2xx = result.non2xx + result.errors;
  if (non2xx > 0) throw new Error(`${url}: ${non2xx} non-2xx responses or errors`);
  return { latency: summarize(samples), rps: result.requests.average, total: result.requests.total };
}

async function restRows(child, address) {
  const rows = [];
  const targets = [
    { name: 'GET /health', url: `${address.origin}/health` },
    { name: 'GET /api/v2/tasks?limit=20', url: `${address.api}/tasks?limit=20` },
  ];
  for (const t of targets) {
    const lat = await autocannonRun(t.url, 1);
    const thr = await autocannonRun(t.url, THROUGHPUT_CONNECTIONS);
    rows.push(
      { name: `${t.name} latency (p50)`, value: lat.latency.p50, unit: 'ms', target: '', detail: `1 connection, ${lat.total} requests in ${LATENCY_SECONDS} s` },
      { name: `${t.name} latency (p99)`, value: lat.latency.p99, unit: 'ms', target: '< 2 ms', detail: `mean ${lat.latency.mean.toFixed(3)} ms` },
      { name: `${t.name} throughput`, value: thr.rps, unit: 'req/s', target: '', detail: `${THROUGHPUT_CONNECTIONS} connections; p99 ${thr.latency.p99.toFixed(2)} ms` },
    );
  }
  child.send({ type: 'auth-on' });
  const [{ key }] = await once(child, 'message');
  const url = `${address.api}/tasks?limit=20`;
  const lat = await autocannonRun(url, 1, { authorization: `Bearer ${key}` });
  const thr = await autocannonRun(url, THROUGHPUT_CONNECTIONS, { authorization: `Bearer ${key}` });
  rows.push(
    { name: 'GET /api/v2/tasks?limit=20 with API key (p50)', value: lat.latency.p50, unit: 'ms', target: '', detail: 'key looked up and hash compared per request' },
    { name: 'GET /api/v2/tasks?limit=20 with API key (p99)', value: lat.latency.p99, unit: 'ms', target: '< 2 ms', detail: `mean ${lat.latency.mean.toFixed(3)} ms` },
    { name: 'GET /api/v2/tasks?limit=20 with API key, throughput', value: thr.rps, unit: 'req/s', target: '', detail: `${THROUGHPUT_CONNECTIONS} connections` },
  );
  return { rows, key };
}

async function fanOutRows(child, address, key) {
  const { default: WebSocket } = await import('ws');
  const seqPattern = /"text":"(\d+)\|([\d.]+)"/;
  const firstAt = new Map();
  const seen = new Map();
  let waiting = null;
  const clients = [];
  for (let i = 0; i < WS_CLIENTS; i++) {
    const ws = new WebSocket(`${address.events}?types=agent.output&correlationId=bench`, { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false });
    ws.on('message', (data) => {
      const m = seqPattern.exec(String(data));
      if (!m) return;
      const seq = Number(m[1]);
      const at = wallMs();
      if (!firstAt.has(seq)) firstAt.set(seq, at - Number(m[2]));
      const n = (seen.get(seq) ?? 0) + 1;
      seen.set(seq, n);
      if (waiting && n === WS_CLIENTS && waiting.seqs.delete(seq) && waiting.seqs.size === 0) waiting.resolve(at);
      if (n === WS_CLIENTS && waiting?.single === seq) waiting.lastLatency = at - Number(m[2]);
    });
    clients.push(ws);
    if (i % 100 === 99) await Promise.all(clients.slice(-100).map((c) => (c.readyState === WebSocket.OPEN ? null : once(c, 'open'))));
  }
  await Promise.all(clients.map((c) => (c.readyState === WebSocket.OPEN ? null : once(c, 'open'))));
  // Every client has its subscription in place before anything is published.
  for (;;) {
    child.send({ type: 'clients' });
    const [{ count }] = await once(child, 'message');
    if (count === WS_CLIENTS) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  const publishAndWait = (seq, count) =>
    new Promise((resolve) => {
      waiting = { seqs: new Set(Array.from({ length: count }, (_, i) => seq + i)), resolve, single: count === 1 ? seq : null, lastLatency: null };
      child.send({ type: 'publish', seq, count });
    });

  const first = [];
  const last = [];
  let seq = 0;
  for (let i = 0; i < 10; i++) await publishAndWait(seq++, 1); // warm-up
  for (let i = 0; i < WS_EVENTS; i++) {
    const s = seq++;
    await publishAndWait(s, 1);
    first.push(firstAt.get(s));
    last.push(waiting.lastLatency);
  }
  const t0 = nowMs();
  await publishAndWait(seq, WS_BURST);
  const burstMs = nowMs() - t0;
  for (const c of clients) c.terminate();

  const f = summarize(first);
  const l = summarize(last);
  return [
    { name: `WS fan-out, publish to first of ${WS_CLIENTS} clients (p50)`, value: f.p50, unit: 'ms', target: '', detail: `${WS_EVENTS} events, one at a time` },
    { name: `WS fan-out, publish to all ${WS_CLIENTS} clients (p50)`, value: l.p50, unit: 'ms', target: '', detail: 'persisted, serialised once, written to every socket' },
    { name: `WS fan-out, publish to all ${WS_CLIENTS} clients (p99)`, value: l.p99, unit: 'ms', target: '', detail: `max ${l.max.toFixed(2)} ms` },
    { name: `WS fan-out burst, ${WS_BURST} events × ${WS_CLIENTS} clients`, value: (WS_BURST * WS_CLIENTS) / (burstMs / 1000), unit: 'msgs/s', target: '', detail: `${burstMs.toFixed(0)} ms until every client had every event` },
  ];
}

export async function run() {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [ready] = await once(child, 'message');
    const { address } = ready;
    const { rows, key } = await restRows(child, address);
    rows.push(...(await fanOutRows(child, address, key)));
    report('api', rows);
  } finally {
    if (child.connected) {
      child.send({ type: 'stop' });
      await once(child, 'message').catch(() => undefined);
      child.disconnect();
    }
    if (child.exitCode === null) await once(child, 'exit');
  }
}

if (process.argv.includes('--serve')) await serve();
