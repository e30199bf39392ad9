import { afterEach, describe, expect, it } from 'vitest';
import type { TaskExecutor } from '../src/tasks/task-executor.js';
import { runCli, runJson, tempProject } from './support/cli.js';
import { expectRejection } from './support/rejection.js';
import { eventually, tempColony, type TempColony } from './support/temp-colony.js';
import { expectProblem, startApi } from './support/api-server.js';
import type { TaskRecord } from '../src/domain/task.js';

let temp: TempColony | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

/** Records the order tasks start in; `gate` holds the task named "blocker" until released. */
function recorder() {
  const started: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const executor: TaskExecutor = {
    type: 'note',
    async execute({ task }) {
      started.push(task.name ?? task.id);
      if (task.name === 'blocker') await gate;
      return null;
    },
  };
  return { started, release, executor };
}

describe('revising a task that has not started', () => {
  it('a new priority reorders the queue', async () => {
    temp = await tempColony({ tasks: { concurrency: 1 } });
    const { colony } = temp;
    const r = recorder();
    colony.registerExecutor(r.executor);
    await colony.start();
    await colony.tasks.submit([{ type: 'note', name: 'blocker' }]);
    await eventually(() => r.started.includes('blocker'));
    const [a, b] = await colony.tasks.submit([
      { type: 'note', name: 'a', priority: 'low' },
      { type: 'note', name: 'b', priority: 'low' },
    ]);
    const revised = await colony.tasks.revise(b!.id, { priority: 'critical' });
    expect(revised.priority).toBe(100);
    expect((await colony.tasks.get(b!.id)).priority).toBe(100);
    r.release();
    await colony.tasks.waitFor([a!.id, b!.id]);
    expect(r.started).toEqual(['blocker', 'b', 'a']);
  });

  it('assigning pins a waiting task to another agent, which runs it; null lifts the pin', async () => {
    temp = await tempColony();
    const { colony } = temp;
    const r = recorder();
    colony.registerExecutor(r.executor);
    await colony.start();
    const paused = await colony.agents.setStatus((await colony.agents.spawn({ type: 'coder' })).id, 'paused');
    const other = await colony.agents.spawn({ type: 'tester' });
    const [task] = await colony.tasks.submit([{ type: 'note', name: 'pinned', requirements: { agentIds: [paused.id] } }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await colony.tasks.get(task!.id)).status).toBe('queued');
    await colony.tasks.revise(task!.id, { agentId: other.id });
    const [done] = await colony.tasks.waitFor([task!.id]);
    expect(done?.status).toBe('completed');
    expect(done?.assignedAgent).toBe(other.id);

    const [second] = await colony.tasks.submit([{ type: 'note', name: 'second', requirements: { agentIds: [paused.id], capabilities: ['code'] } }]);
    const unpinned = await colony.tasks.revise(second!.id, { agentId: null });
    expect(unpinned.requirements).toEqual({ capabilities: ['code'] });
    expect((await colony.tasks.waitFor([second!.id]))[0]?.status).toBe('completed');
  });

  it('refuses what it cannot do, naming why, and changes nothing', async () => {
    temp = await tempColony();
    const { colony } = temp;
    const r = recorder();
    colony.registerExecutor(r.executor);
    const [task] = await colony.tasks.submit([{ type: 'note', name: 'x' }]);
    const before = await colony.tasks.get(task!.id);
    await expectRejection(colony.tasks.revise(task!.id, {}), 'validation', /give priority or agentId/);
    await expectRejection(colony.tasks.revise(task!.id, { priority: 'urgent' }), 'validation', /priority/);
    await expectRejection(colony.tasks.revise(task!.id, { owner: 'me' }), 'validation', /owner/);
    await expectRejection(colony.tasks.revise(task!.id, { agentId: 'agt_01jz00000000000000000000zz' }), 'not_found', /agent/);
    const gone = await colony.agents.spawn({ type: 'coder' });
    await colony.agents.terminate(gone.id);
    await expectRejection(colony.tasks.revise(task!.id, { agentId: gone.id }), 'conflict', /terminated/);
    expect(await colony.tasks.get(task!.id)).toEqual(before);
    await colony.start();
    await colony.tasks.waitFor([task!.id]);
    await expectRejection(colony.tasks.revise(task!.id, { priority: 'high' }), 'conflict', /completed; only pending or queued/);
  });

  it('a copy read before a revision cannot claim the task (the claim is fenced on updatedAt)', async () => {
    temp = await tempColony();
    const { colony } = temp;
    colony.registerExecutor(recorder().executor);
    const [task] = await colony.tasks.submit([{ type: 'note' }]);
    const stale = (await colony.store.tasks.get(task!.id)) as TaskRecord;
    await colony.tasks.revise(task!.id, { priority: 'high' });
    const expected = { status: stale.status, attempts: stale.attempts, updatedAt: stale.updatedAt };
    expect(await colony.store.tasks.update({ ...stale, status: 'running', attempts: 1 }, expected)).toBe(false);
    expect((await colony.store.tasks.get(task!.id))?.priority).toBe(75);
  });
});

describe('revising through the REST API and the CLI', () => {
  it('PUT /tasks/:id with a priority, POST /tasks/:id/assign, and their errors', async () => {
    const api = await startApi({}, { startEngine: true });
    try {
      api.colony.registerExecutor(recorder().executor);
      const paused = await api.colony.agents.setStatus((await api.colony.agents.spawn({ type: 'coder' })).id, 'paused');
      const other = await api.colony.agents.spawn({ type: 'coder' });
      const [task] = await api.colony.tasks.submit([{ type: 'note', requirements: { agentIds: [paused.id] } }]);
      const put = await api.request('PUT', `/api/v2/tasks/${task!.id}`, { body: { priority: 'high' } });
      expect(put.status, put.text).toBe(200);
      expect((put.json as TaskRecord).priority).toBe(75);
      expectProblem(await api.request('POST', `/api/v2/tasks/${task!.id}/assign`, { body: { agentId: 'bob' } }), 400, 'validation');
      expectProblem(await api.request('POST', `/api/v2/tasks/${task!.id}/assign`, { body: { agentId: 'agt_01jz00000000000000000000zz' } }), 404, 'not_found');
      expectProblem(await api.request('PUT', `/api/v2/tasks/${task!.id}`, { body: { priority: 'high', action: 'cancel' } }), 400, 'validation');
      const assigned = await api.request('POST', `/api/v2/tasks/${task!.id}/assign`, { body: { agentId: other.id } });
      expect(assigned.status, assigned.text).toBe(200);
      expect((await api.colony.tasks.waitFor([task!.id]))[0]?.assignedAgent).toBe(other.id);
    } finally {
      await api.close();
    }
  });

  it('colony task update --priority / --agent / --any-agent', async () => {
    const project = tempProject();
    expect((await runCli(['init'], { cwd: project.dir })).code).toBe(0);
    const created = await runJson<TaskRecord>(['task', 'create', '--command', 'echo hi', '--agent-type', 'coder'], { cwd: project.dir });
    const id = created.data.id;
    const agent = await runJson<{ id: string }>(['agent', 'spawn', 'tester'], { cwd: project.dir });
    const updated = await runJson<TaskRecord>(['task', 'update', id.slice(0, 12), '--priority', 'critical', '--agent', agent.data.id.slice(0, 14)], { cwd: project.dir });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.data).toMatchObject({ priority: 100, requirements: { agentType: 'coder', agentIds: [agent.data.id] } });
    const lifted = await runJson<TaskRecord>(['task', 'update', id, '--any-agent'], { cwd: project.dir });
    expect(lifted.data.requirements).toEqual({ agentType: 'coder' });
    const bad = await runCli(['task', 'update', id], { cwd: project.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/give priority or agentId/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
