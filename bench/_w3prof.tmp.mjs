// One sample of one peer-comparison workload, in a fresh process (bench/workloads.bench.js runs five
// per workload and takes the median). Prints one JSON line: { units, cpuUs, wallMs, check }.
// Usage: node workload-sample.js <w1-js|w1-colony|w2-js|w2-colony|w3-js|w3-colony|w4-js|w4-colony>
import { mkdtempSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

const CHAIN = 1_000;
const BRANCHES = 200;
const TOOL_TURNS = Number(process.env.TURNS ?? 50);
const RUNS = 1_000;
const MODEL_MS = 50;

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

/** W3's floor: 50 async "model" calls, each followed by an async tool call, then the answer. */
async function w3Js() {
  const model = async (last) => (last < TOOL_TURNS ? { tool: 'add', value: last } : { answer: String(last) });
  const add = async (value) => value + 1;
  const { value, cpuUs, wallMs } = await measured(async () => {
    let calls = 0;
    let last = 0;
    for (;;) {
      calls++;
      const reply = await model(last);
      if (reply.answer !== undefined) return { answer: reply.answer, calls };
      last = await add(reply.value);
    }
  });
  return { units: TOOL_TURNS, cpuUs, wallMs, check: value.answer === String(TOOL_TURNS) && value.calls === TOOL_TURNS + 1 };
}

/** W4's floor: 1,000 concurrent pairs of 50 ms awaits (a model call asking for a tool, then the answer). */
async function w4Js() {
  const { value, cpuUs, wallMs } = await measured(async () =>
    Promise.all(
      Array.from({ length: RUNS }, async () => {
        await sleep(MODEL_MS);
        await sleep(MODEL_MS);
        return '1';
      }),
    ),
  );
  return { units: RUNS, cpuUs, wallMs, check: value.length === RUNS && value.every((answer) => answer === '1') };
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

/**
 * An in-process model (the Provider port) that needs no network: it reads the last tool result and
 * asks for `add` on it until the value reaches `target`, then answers it through report_result.
 * Waits `delayMs` on a timer before each answer when given. Counts the calls made.
 */
function adderModel({ target, delayMs = 0 }) {
  let calls = 0;
  const complete = async (request) => {
    calls++;
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: request.signal });
    const last = request.messages.at(-1);
    const result = last.content.find((part) => part.type === 'tool_result');
    const value = result === undefined ? 0 : Number(result.content);
    const call = value < target ? { name: 'add', input: { value } } : { name: 'report_result', input: { result: String(value) } };
    return {
      id: `r${calls}`,
      model: request.model,
      content: [{ type: 'tool_use', id: `c${calls}`, ...call }],
      stopReason: 'tool_use',
      usage: { inputTokens: 10, outputTokens: 5 },
    };
  };
  return {
    id: 'inproc',
    complete,
    async *stream(request) {
      const response = await complete(request);
      for (const part of response.content) {
        yield { type: 'tool_use_start', id: part.id, name: part.name };
        yield { type: 'tool_use_delta', id: part.id, partialJson: JSON.stringify(part.input) };
      }
      yield { type: 'message_end', response };
    },
    calls: () => calls,
  };
}

/** The model, the `add` tool and the `adder` agent type, registered on the colony in code. */
function registerAdder(colony, model) {
  colony.providers.register(model, { id: 'inproc', model: 'm', default: true });
  colony.tools.register({
    name: 'add',
    description: 'Adds 1 to a value.',
    input: z.object({ value: z.number() }),
    execute: async ({ value }) => value + 1,
  });
  colony.agentTypes.register({
    name: 'adder',
    description: 'Adds by calling the add tool.',
    systemPrompt: 'Call add on the last result until it reaches the target, then report it.',
    tools: ['add'],
  });
}

/** W3: one agent, 50 tool turns then the answer (51 model calls), on an in-process model. */
async function w3Colony() {
  return withColony(async (colony) => {
    const model = adderModel({ target: TOOL_TURNS });
    registerAdder(colony, model);
    // The default agents.maxTurns (40) is below the 51 model calls: the task asks for its own limit.
    const spec = { type: 'agent', input: { prompt: `Add 1 to 0, ${TOOL_TURNS} times.`, agentType: 'adder', provider: 'inproc', maxTurns: TOOL_TURNS + 1 } };
    const { value, cpuUs, wallMs } = await measured(async () => {
      const c = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
      const a = c();
      const [task] = await colony.tasks.submit([spec]);
      const b = c();
      await colony.start();
      const d = c();
      const [done] = await colony.tasks.waitFor([task.id]);
      const e = c();

      console.error('submit', (b - a).toFixed(1), 'start', (d - b).toFixed(1), 'run', (e - d).toFixed(1));
      return done;
    });
    const answer = value.result?.result;
    const check = value.status === 'completed' && (answer === String(TOOL_TURNS) || answer === TOOL_TURNS) && model.calls() === TOOL_TURNS + 1;
    return { units: TOOL_TURNS, cpuUs, wallMs, check };
  });
}

/** W4: 1,000 agent runs at once, each two 50 ms model calls (one `add`, then the answer "1"), on Colony's default limits. */
async function w4Colony() {
  return withColony(async (colony) => {
    const model = adderModel({ target: 1, delayMs: MODEL_MS });
    registerAdder(colony, model);
    const specs = Array.from({ length: RUNS }, (_, i) => ({ type: 'agent', name: `run${i}`, input: { prompt: 'Add 1 to 0.', agentType: 'adder', provider: 'inproc' } }));
    const { value, cpuUs, wallMs } = await measured(async () => {
      const tasks = await colony.tasks.submit(specs);
      await colony.start();
      return colony.tasks.waitFor(tasks.map((task) => task.id));
    });
    const check = value.length === RUNS && value.every((task) => task.status === 'completed' && task.result?.result === '1') && model.calls() === 2 * RUNS;
    return { units: RUNS, cpuUs, wallMs, check };
  });
}

const WORKLOADS = {
  'w1-js': w1Js,
  'w1-colony': w1Colony,
  'w2-js': w2Js,
  'w2-colony': w2Colony,
  'w3-js': w3Js,
  'w3-colony': w3Colony,
  'w4-js': w4Js,
  'w4-colony': w4Colony,
};
const run = WORKLOADS[process.argv[2]];
if (!run) {
  console.error(`unknown workload "${process.argv[2]}"; known: ${Object.keys(WORKLOADS).join(', ')}`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(await run())}\n`);
