import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import type { RecordedRequest } from '../src/testing/fake-llm-types.js';
import { eventually, isAlive, removeTempProjects, startCli, tempProject, type BackgroundCli } from './support/cli.js';
import { requestText, swarmModel } from './support/swarm-model.js';

/**
 * A swarm's token budget across processes and `kill -9`: its tasks' model calls are made by three
 * processes in turn (`colony swarm`, then two `colony worker`s that take the swarm over), two of
 * them killed while a call is in flight. Every call any of them made counts, and all of them
 * together never pass the budget, even counting each killed call as if it had used everything it
 * was allowed to.
 */

const BUDGET = 60_000;
/** The worker calls (1-based) that never answer: their process is killed while they are in flight. */
const HELD = new Set([2, 4]);

let llm: FakeLlmServer;
let env: Record<string, string>;
let release!: () => void;
const gate = new Promise<void>((resolve) => (release = resolve));
const workerCalls: { maxTokens: number; inputTokens: number; answered: boolean }[] = [];

/** An honest token count of a request's input (about four bytes a token), and the whole output cap used. */
function usageOf(request: RecordedRequest): { inputTokens: number; outputTokens: number } {
  const body = request.body as { max_tokens: number };
  return { inputTokens: Math.ceil(JSON.stringify(body).length / 4), outputTokens: body.max_tokens };
}

beforeAll(async () => {
  llm = new FakeLlmServer({
    defaultReply: async (request) => {
      const usage = usageOf(request);
      const reply = swarmModel({ usage })(request);
      if (!/^Your task \(/m.test(requestText(request))) return reply;
      const call = { maxTokens: usage.outputTokens, inputTokens: usage.inputTokens, answered: false };
      workerCalls.push(call);
      if (HELD.has(workerCalls.length)) await gate;
      call.answered = true;
      return reply;
    },
  });
  const { anthropicBaseUrl } = await llm.start();
  env = { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret', COLONY_LOG_LEVEL: 'silent' };
});
afterAll(async () => {
  release();
  await llm.close();
  removeTempProjects();
});

const PLAN = `tasks:\n${[1, 2, 3, 4, 5, 6]
  .map((i) => `  - id: s${i}\n    title: Step ${i}\n    prompt: Do step ${i}.${i > 1 ? `\n    dependsOn: [s${i - 1}]` : ''}`)
  .join('\n')}\n`;

async function killWhenCallInFlight(cli: BackgroundCli, call: number): Promise<void> {
  await eventually(() => (workerCalls.length >= call ? true : undefined), `worker call ${call} to be in flight`);
  process.kill(cli.pid, 'SIGKILL');
  await cli.exited;
  await eventually(() => (isAlive(cli.pid) ? undefined : true), 'the killed process to be gone');
}

describe('swarm budget across processes and kill -9', () => {
  it('every process\'s calls count, and together they never pass the budget', async () => {
    const project = tempProject();
    project.write('plan.yaml', PLAN);
    const first = startCli(['swarm', 'Six steps', '--plan', 'plan.yaml', '--no-review', '--provider', 'anthropic', '--max-tokens', String(BUDGET), '-q'], { cwd: project.dir, env, timeoutMs: 90_000 });
    await killWhenCallInFlight(first, 2);
    const second = startCli(['worker'], { cwd: project.dir, env, timeoutMs: 90_000 });
    await killWhenCallInFlight(second, 4);

    const colony = await createColony({ projectDir: project.dir, env: { ...env }, config: { log: { level: 'silent' } } });
    try {
      await colony.start();
      const [listed] = await colony.swarms.list();
      const done = await colony.swarms.waitFor(listed!.id);
      expect(done.status).toBe('stopped');
      expect(done.error?.code).toBe('budget_exhausted');

      // The provider's worst case: every call used its whole output cap, the killed ones too.
      const spent = workerCalls.reduce((sum, c) => sum + c.inputTokens + c.maxTokens, 0);
      expect(spent).toBeLessThanOrEqual(BUDGET);
      // What the record counts: every answered call of every process, and the killed ones at their
      // reservations (no less than they could have used), all within the budget.
      const answered = workerCalls.filter((c) => c.answered).reduce((sum, c) => sum + c.inputTokens + c.maxTokens, 0);
      const recorded = done.usage.inputTokens + done.usage.outputTokens;
      expect(recorded).toBeGreaterThanOrEqual(spent);
      expect(recorded).toBeLessThanOrEqual(BUDGET);
      expect(answered).toBeLessThan(spent);
      expect(done.usage.calls).toBe(workerCalls.length);
    } finally {
      await colony.close({ drainTimeoutMs: 0 });
    }
  });
});
