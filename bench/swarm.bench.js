// Swarm benchmarks: the coordinator's overhead on a 1,000-task plan with a model that answers at
// once (the fake LLM server in its own process, real HTTP), against the same 1,000 agent tasks
// submitted straight to the task engine with the same concurrency and the same pool of agents.
import { nowMs, report, withTempColony, startFakeLlmProcess } from './harness.js';

const TASKS = Number(process.env.SWARM_BENCH_TASKS ?? 1_000);
const WIDTH = Number(process.env.SWARM_BENCH_WIDTH ?? 50);
const CONCURRENCY = 50;

function config(url) {
  return {
    tasks: { concurrency: CONCURRENCY, pollIntervalMs: 250 },
    agents: { maxAgents: CONCURRENCY + 20, defaultProvider: 'anthropic' },
    providers: { anthropic: { baseUrl: url, apiKey: 'bench', maxConcurrency: CONCURRENCY, maxRetries: 0 } },
  };
}

/** Layers of WIDTH tasks; each task depends on one task of the layer before. */
function plan() {
  const tasks = [];
  for (let i = 0; i < TASKS; i++) {
    const layer = Math.floor(i / WIDTH);
    tasks.push({ id: `t${i}`, title: `task ${i}`, prompt: `do part ${i}`, agentType: 'coder', dependsOn: layer === 0 ? [] : [`t${i - WIDTH}`] });
  }
  return { summary: 'bench', tasks };
}

async function direct(url) {
  return withTempColony(config(url), async (colony) => {
    await colony.start();
    const [warm] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'warm up' } }]);
    await colony.tasks.waitFor([warm.id]);
    // The same pool a swarm has: CONCURRENCY agents, every task pinned to them.
    const agentIds = [];
    for (let i = 0; i < CONCURRENCY; i++) agentIds.push((await colony.agents.spawn({ type: 'coder' })).id);
    const specs = plan().tasks.map((t) => ({ type: 'agent', name: t.id, input: { prompt: t.prompt, agentType: 'coder' }, dependencies: t.dependsOn, requirements: { agentIds } }));
    const t0 = nowMs();
    const tasks = await colony.tasks.submit(specs);
    const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
    const elapsed = nowMs() - t0;
    const failed = done.filter((t) => t.status !== 'completed');
    if (failed.length) throw new Error(`direct: ${failed.length} tasks failed, e.g. ${failed[0].error?.message}`);
    return elapsed;
  });
}

async function swarm(url) {
  return withTempColony(config(url), async (colony) => {
    await colony.start();
    const [warm] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'warm up' } }]);
    await colony.tasks.waitFor([warm.id]);
    const t0 = nowMs();
    const created = await colony.swarms.create({ objective: 'bench', topology: 'mesh', review: false, agents: CONCURRENCY, concurrency: CONCURRENCY, maxAgents: CONCURRENCY + 5, plan: plan() });
    const done = await colony.swarms.waitFor(created.id);
    const elapsed = nowMs() - t0;
    if (done.status !== 'completed') throw new Error(`swarm bench: ${done.status}: ${done.error?.message}`);
    return elapsed;
  });
}

export async function run() {
  const server = await startFakeLlmProcess(0, 0);
  try {
    const directMs = await direct(server.anthropicBaseUrl);
    const swarmMs = await swarm(server.anthropicBaseUrl);
    const rows = [
      { name: `${TASKS}-task plan as a swarm (mesh, no review)`, value: swarmMs / 1000, unit: 's', target: '', detail: `${TASKS / WIDTH} layers of ${WIDTH}, concurrency ${CONCURRENCY}, model answering at once over HTTP` },
      { name: `same ${TASKS} agent tasks straight to the engine`, value: directMs / 1000, unit: 's', target: '', detail: 'the same DAG, concurrency and agent pool, no coordinator' },
      { name: 'swarm coordination overhead per task', value: ((swarmMs - directMs) / TASKS) * 1000, unit: 'µs/task', target: '', detail: 'difference of the two, per task: dispatch, routing, review bookkeeping, progress events, synthesis call' },
    ];
    report('swarm', rows);
    return rows;
  } finally {
    await server.close();
  }
}
