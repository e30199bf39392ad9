// One sample of one peer-comparison workload, in a fresh process (bench/workloads.bench.js runs five
// per workload and takes the median). Prints one JSON line: { units, cpuUs, wallMs, check }.
// Usage: node workload-sample.js <w1-js|w1-colony|w2-js|w2-colony>
import { mkdtempSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHAIN = 1_000;
const BRANCHES = 200;

/** CPU (user + system, µs) and wall time (ms) of `fn`, with what it returns. */
async function measured(fn) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  return { value, cpuUs: cpu.user + cpu.system, wallMs: performance.now() - t0 };
}

/** The floor: the same data flow as plain async JavaScript, one await per step. */
async function w1Js() {
  const step = async (previous) => previous + 1;
  const { value, cpuUs, wallMs } = await measured(async () => {
    let v = 0;
    for (let i = 0; i < CHAIN; i++) v = await step(v);
    return v;
  });
  return { units: CHAIN, cpuUs, wallMs, check: value === CHAIN };
}

async function w2Js() {
  const branch = async (i) => i;
  const { value, cpuUs, wallMs } = await measured(async () => {
    const outputs = await Promise.all(Array.from({ length: BRANCHES }, (_, i) => branch(i)));
    return outputs.reduce((a, b) => a + b, 0);
  });
  return { units: BRANCHES, cpuUs, wallMs, check: value === (BRANCHES * (BRANCHES - 1)) / 2 };
}

/** Colony on its default store (a SQLite file): every task, transition and event persisted. */
async function withColony(fn) {
  const { createColony } = await import('../dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'colony-workload-'));
  const colony = await createColony({ projectDir: dir, env: {}, config: { log: { level: 'silent' } } });
  try {
    return await fn(colony);
  } finally {
    await colony.close({ drainTimeoutMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** W1: a chain of 1,000 tasks, each adds 1 to its predecessor's output (the value travels through the engine). */
async function w1Colony() {
  return withColony(async (colony) => {
    colony.registerExecutor({
      type: 'add',
      execute: async ({ dependencies }) => {
        const [previous] = Object.values(dependencies);
        return (typeof previous === 'number' ? previous : 0) + 1;
      },
    });
    const specs = Array.from({ length: CHAIN }, (_, i) => ({ type: 'add', name: `s${i}`, dependencies: i === 0 ? [] : [`s${i - 1}`] }));
    const { value, cpuUs, wallMs } = await measured(async () => {
      const tasks = await colony.tasks.submit(specs);
      await colony.start();
      const [last] = await colony.tasks.waitFor([tasks[CHAIN - 1].id]);
      return last.result;
    });
    return { units: CHAIN, cpuUs, wallMs, check: value === CHAIN };
  });
}

/** W2: a fan-out to 200 tasks and a join that receives all 200 outputs. */
async function w2Colony() {
  return withColony(async (colony) => {
    colony.registerExecutor({ type: 'branch', execute: async ({ task }) => task.input });
    colony.registerExecutor({
      type: 'join',
      execute: async ({ dependencies }) => {
        const outputs = Object.values(dependencies);
        return { count: outputs.length, sum: outputs.reduce((a, b) => a + b, 0) };
      },
    });
    const branches = Array.from({ length: BRANCHES }, (_, i) => ({ type: 'branch', name: `b${i}`, input: i }));
    const { value, cpuUs, wallMs } = await measured(async () => {
      const tasks = await colony.tasks.submit([...branches, { type: 'join', name: 'join', dependencies: branches.map((b) => b.name) }]);
      await colony.start();
      const [join_] = await colony.tasks.waitFor([tasks[BRANCHES].id]);
      return join_.result;
    });
    return { units: BRANCHES, cpuUs, wallMs, check: value?.count === BRANCHES && value?.sum === (BRANCHES * (BRANCHES - 1)) / 2 };
  });
}

const WORKLOADS = { 'w1-js': w1Js, 'w1-colony': w1Colony, 'w2-js': w2Js, 'w2-colony': w2Colony };
const run = WORKLOADS[process.argv[2]];
if (!run) {
  console.error(`unknown workload "${process.argv[2]}"; known: ${Object.keys(WORKLOADS).join(', ')}`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(await run())}\n`);
