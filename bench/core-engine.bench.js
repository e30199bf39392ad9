// Core engine benchmarks: agent spawn latency, task throughput with dependencies, per-step overhead
// of a dependent chain, and CLI cold start beside a bare `node -e 0`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nowMs, report, summarize, withTempColony } from './harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const trivial = { type: 'noop', execute: async () => null };

async function agentSpawn() {
  const N = 2_000;
  return withTempColony({ agents: { maxAgents: N + 100 } }, async (colony) => {
    for (let i = 0; i < 50; i++) await colony.agents.spawn({ type: 'coder' }); // warm-up
    const samples = [];
    for (let i = 0; i < N; i++) {
      const t0 = nowMs();
      await colony.agents.spawn({ type: 'coder' });
      samples.push(nowMs() - t0);
    }
    const s = summarize(samples);
    return [
      { name: 'agent spawn, persisted (p50)', value: s.p50, unit: 'ms', target: '< 1 ms', detail: `${N} sequential spawns, each awaited until committed` },
      { name: 'agent spawn, persisted (p99)', value: s.p99, unit: 'ms', target: '', detail: `mean ${s.mean.toFixed(3)} ms` },
    ];
  });
}

/** 10,000 tasks in 100 layers of 100; each task depends on two tasks of the layer before. */
async function throughput() {
  const LAYERS = 100;
  const WIDTH = 100;
  return withTempColony({ tasks: { concurrency: 256, pollIntervalMs: 250 } }, async (colony) => {
    colony.registerExecutor(trivial);
    const specs = [];
    for (let l = 0; l < LAYERS; l++) {
      for (let w = 0; w < WIDTH; w++) {
        const deps = l === 0 ? [] : [`t${l - 1}-${w}`, `t${l - 1}-${(w * 7 + 3) % WIDTH}`];
        specs.push({ type: 'noop', name: `t${l}-${w}`, dependencies: [...new Set(deps)] });
      }
    }
    const t0 = nowMs();
    const tasks = await colony.tasks.submit(specs);
    const t1 = nowMs();
    await colony.start();
    const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
    const t2 = nowMs();
    const ok = done.every((t) => t.status === 'completed');
    if (!ok) throw new Error('throughput bench: not every task completed');
    const n = specs.length;
    return [
      { name: 'task submit (10k DAG, persisted)', value: n / ((t1 - t0) / 1000), unit: 'tasks/s', target: '', detail: `${(t1 - t0).toFixed(0)} ms for ${n} tasks and ${specs.reduce((a, s) => a + s.dependencies.length, 0)} edges` },
      { name: 'task engine throughput (10k DAG, persisted)', value: n / ((t2 - t1) / 1000), unit: 'tasks/s', target: '>= 20,000', detail: `${(t2 - t1).toFixed(0)} ms to run all; claim, complete, promote, events all committed` },
      { name: 'end to end (submit + run)', value: n / ((t2 - t0) / 1000), unit: 'tasks/s', target: '', detail: `${(t2 - t0).toFixed(0)} ms` },
    ];
  });
}

/** A chain of dependent steps: each step waits for the previous, so this is latency per step. */
async function chainOverhead() {
  const N = 2_000;
  return withTempColony({ tasks: { concurrency: 4 } }, async (colony) => {
    colony.registerExecutor(trivial);
    const specs = Array.from({ length: N }, (_, i) => ({ type: 'noop', name: `s${i}`, dependencies: i === 0 ? [] : [`s${i - 1}`] }));
    const tasks = await colony.tasks.submit(specs);
    const t0 = nowMs();
    await colony.start();
    await colony.tasks.waitFor([tasks[N - 1].id]);
    const per = ((nowMs() - t0) / N) * 1000;
    return [{ name: 'scheduler overhead per dependent step', value: per, unit: 'µs', target: '< 20 µs', detail: `${N}-step chain; each step is persisted (claim, complete, promote next) before the next starts` }];
  });
}

function coldStart() {
  const RUNS = 15;
  const node = join(ROOT, 'node_modules', '.bin', 'node');
  const time = (cmd, args) => {
    const samples = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const t0 = nowMs();
      const r = spawnSync(cmd, args, { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
      if (i >= 2) samples.push(nowMs() - t0);
    }
    return summarize(samples);
  };
  const bare = time(node, ['-e', '0']);
  const help = time(join(ROOT, 'bin', 'colony'), ['--help']);
  return [
    { name: 'node -e 0 (baseline)', value: bare.p50, unit: 'ms', target: '', detail: `median of ${RUNS}` },
    { name: 'colony --help (cold start)', value: help.p50, unit: 'ms', target: 'baseline + 100 ms', detail: `median of ${RUNS}; +${(help.p50 - bare.p50).toFixed(1)} ms over node -e 0` },
  ];
}

export async function run() {
  const rows = [];
  rows.push(...(await agentSpawn()));
  rows.push(...(await throughput()));
  rows.push(...(await chainOverhead()));
  rows.push(...coldStart());
  report('core-engine', rows);
  return rows;
}
