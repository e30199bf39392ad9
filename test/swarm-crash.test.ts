import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { eventually, isAlive, removeTempProjects, startCli, tempProject } from './support/cli.js';
import { requestText, swarmModel } from './support/swarm-model.js';

/**
 * A swarm whose `colony swarm` process is killed with SIGKILL mid-run is taken over by the next
 * Colony process on the database, which finishes it without redoing the work already done.
 */

const HOLD = 'SLOW-STEP';
let llm: FakeLlmServer;
let env: Record<string, string>;
let holding = true;
let release!: () => void;
const gate = new Promise<void>((resolve) => (release = resolve));

beforeAll(async () => {
  const model = swarmModel();
  llm = new FakeLlmServer({
    defaultReply: async (request) => {
      // While the first process runs, the slow step never answers: it is running when the process dies.
      if (holding && requestText(request).includes(HOLD)) await gate;
      return model(request);
    },
  });
  const { anthropicBaseUrl } = await llm.start();
  env = { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret' };
});
afterAll(async () => {
  release();
  await llm.close();
  removeTempProjects();
});

const PLAN = `tasks:
  - id: first
    title: First step
    prompt: Do the first step.
  - id: second
    title: Second step
    prompt: Do the ${HOLD} now.
    dependsOn: [first]
  - id: third
    title: Third step
    prompt: Finish.
    dependsOn: [second]
`;

const workerCalls = (id: string) => llm.requests.filter((r) => new RegExp(`^Your task \\(${id}\\)`, 'm').test(requestText(r))).length;

describe('swarm crash recovery', () => {
  it('kill -9 of `colony swarm` mid-run: the next process resumes the swarm and finishes it', async () => {
    const project = tempProject();
    project.write('plan.yaml', PLAN);
    const cli = startCli(['swarm', 'Three steps', '--plan', 'plan.yaml', '--no-review', '--provider', 'anthropic'], { cwd: project.dir, env, timeoutMs: 60_000 });
    await eventually(() => (workerCalls('second') > 0 ? true : undefined), 'the second step to be running');
    process.kill(cli.pid, 'SIGKILL');
    const exit = await cli.exited;
    expect(exit.signal).toBe('SIGKILL');
    await eventually(() => (isAlive(cli.pid) ? undefined : true), 'the killed process to be gone');
    expect(workerCalls('first')).toBe(1);

    holding = false;
    release();
    const colony = await createColony({ projectDir: project.dir, env: { ...env }, config: { log: { level: 'silent' } } });
    try {
      const [swarm] = await colony.swarms.list();
      expect(swarm?.status).toBe('running');
      await colony.start();
      const done = await colony.swarms.waitFor(swarm!.id);
      expect(done.status).toBe('completed');
      expect(done.runnerId).toBe(colony.runners.id);
      expect(done.result?.tasks.map((t) => t.status)).toEqual(['done', 'done', 'done']);
      // The first step's result survived the crash; it was not asked again.
      expect(workerCalls('first')).toBe(1);
      expect(workerCalls('third')).toBe(1);
    } finally {
      await colony.close({ drainTimeoutMs: 0 });
    }
  });
});
