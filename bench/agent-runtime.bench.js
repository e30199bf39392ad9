// Agent runtime benchmarks, against the fake LLM server (real HTTP, Anthropic wire protocol with SSE):
// orchestration overhead per agent turn with a model that answers at once, and 1,000 concurrent agent
// runs with a model that answers after 50 ms (two model calls each, one tool call between).
import { nowMs, report, withTempColony, startFakeLlmProcess } from './harness.js';

function colonyConfig(url, concurrency) {
  return {
    tasks: { concurrency, pollIntervalMs: 250 },
    agents: { maxAgents: concurrency + 10, defaultProvider: 'anthropic' },
    providers: { anthropic: { baseUrl: url, apiKey: 'bench', maxConcurrency: concurrency, maxRetries: 0 } },
  };
}

async function perTurnOverhead() {
  const TURNS = Number(process.env.BENCH_TURNS ?? 200);
  const server = await startFakeLlmProcess(TURNS - 1, 0);
  const { anthropicBaseUrl } = server;
  try {
    return await withTempColony(colonyConfig(anthropicBaseUrl, 4), async (colony) => {
      await colony.start();
      // Warm-up run: loads the SDK and prepares statements.
      const [warm] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'warm up', maxTurns: TURNS + 5, maxTokens: 100_000_000 } }]);
      await colony.tasks.waitFor([warm.id]);
      const t0 = nowMs();
      const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'list files many times', maxTurns: TURNS + 5, maxTokens: 100_000_000 } }]);
      const [done] = await colony.tasks.waitFor([task.id]);
      const elapsed = nowMs() - t0;
      if (done.status !== 'completed') throw new Error(`per-turn bench: task ${done.status}: ${done.error?.message}`);
      const turns = done.result.turns;
      return [
        {
          name: 'agent turn, model answering at once',
          value: (elapsed / turns) * 1000,
          unit: 'µs/turn',
          target: '',
          detail: `${turns} turns (model call over HTTP+SSE, tool call, transcript and events persisted); the fake server runs in its own process on the same 2 cores`,
        },
      ];
    });
  } finally {
    await server.close();
  }
}

async function concurrentRuns() {
  const RUNS = 1_000;
  const server = await startFakeLlmProcess(1, 50);
  const { anthropicBaseUrl } = server;
  try {
    return await withTempColony(colonyConfig(anthropicBaseUrl, RUNS), async (colony) => {
      await colony.start();
      const [warm] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'warm up' } }]);
      await colony.tasks.waitFor([warm.id]);
      const t0 = nowMs();
      const tasks = await colony.tasks.submit(Array.from({ length: RUNS }, (_, i) => ({ type: 'agent', input: { prompt: `run ${i}` } })));
      const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
      const elapsed = nowMs() - t0;
      const failed = done.filter((t) => t.status !== 'completed');
      if (failed.length) throw new Error(`concurrent bench: ${failed.length} runs failed, e.g. ${failed[0].error?.message}`);
      return [
        {
          name: '1,000 concurrent agent runs (2 calls of 50 ms, 1 tool call)',
          value: elapsed / 1000,
          unit: 's',
          target: '< 0.3 s',
          detail: `${RUNS} agent tasks, each persisted with transcript, usage metrics and events; the floor is 0.1 s of model time`,
        },
      ];
    });
  } finally {
    await server.close();
  }
}

export async function run() {
  const rows = [...(await perTurnOverhead()), ...(await concurrentRuns())];
  report('agent-runtime', rows);
  return rows;
}
