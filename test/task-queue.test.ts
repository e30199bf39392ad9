import { afterEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../src/domain/task.js';
import type { TaskExecutor } from '../src/tasks/task-executor.js';
import { delay, eventually, tempColony, tempDir, type TempColony } from './support/temp-colony.js';

/**
 * The scheduler on its TaskQueue (the one-machine StorePollQueue): ready tasks are claimed in batches
 * by the store's claim statement, woken in process and by the poll; a task whose agent cannot be had
 * is not claimed over and over.
 */

const opened: TempColony[] = [];
afterEach(async () => {
  for (const temp of opened.splice(0).reverse()) await temp.cleanup();
});

async function colony(dir?: string, concurrency = 4): Promise<TempColony> {
  const temp = await tempColony({ tasks: { concurrency } }, dir ? { dir } : {});
  opened.push(temp);
  return temp;
}

function recording(): { started: string[]; executor: TaskExecutor } {
  const started: string[] = [];
  const executor: TaskExecutor = {
    type: 'note',
    execute: async ({ task }) => {
      started.push(task.name ?? task.id);
      return null;
    },
  };
  return { started, executor };
}

describe('claiming through the task queue', () => {
  it('runs tasks another process submitted, found by the poll, highest priority first', async () => {
    const dir = tempDir('colony-queue-');
    const runner = await colony(dir, 1);
    const submitter = await colony(dir);
    const r = recording();
    runner.colony.registerExecutor(r.executor);
    submitter.colony.registerExecutor(r.executor);
    const tasks = await submitter.colony.tasks.submit([
      { type: 'note', name: 'low', priority: 'low' },
      { type: 'note', name: 'high', priority: 'high' },
      { type: 'note', name: 'critical', priority: 'critical' },
      { type: 'note', name: 'normal' },
    ]);
    await runner.colony.start();
    const done = await runner.colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(done.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(r.started).toEqual(['critical', 'high', 'normal', 'low']);
    expect(done.map((t) => t.attempts)).toEqual([1, 1, 1, 1]);
  });

  it('a task submitted here whose agent is paused is never claimed (left as it is) until the agent is back', async () => {
    const { colony: c } = await colony();
    c.registerExecutor(recording().executor);
    await c.start();
    const agent = await c.agents.setStatus((await c.agents.spawn({ type: 'coder' })).id, 'paused');
    const [task] = await c.tasks.submit([{ type: 'note', requirements: { agentIds: [agent.id] } }]);
    const submitted = (await c.tasks.get(task!.id)) as TaskRecord;
    // Many polls and reconciliations (every 20 ms) pass meanwhile.
    await delay(300);
    expect(await c.tasks.get(task!.id)).toEqual(submitted);

    await c.agents.setStatus(agent.id, 'idle');
    const [done] = await c.tasks.waitFor([task!.id]);
    expect(done).toMatchObject({ status: 'completed', attempts: 1, assignedAgent: agent.id });
  });

  it('a task from another process whose agent is paused is given back once, uncounted, then left alone until the agent is back', async () => {
    const dir = tempDir('colony-queue-');
    const runner = await colony(dir);
    const submitter = await colony(dir);
    const r = recording();
    runner.colony.registerExecutor(r.executor);
    submitter.colony.registerExecutor(r.executor);
    const agent = await submitter.colony.agents.setStatus((await submitter.colony.agents.spawn({ type: 'coder' })).id, 'paused');
    const [task] = await submitter.colony.tasks.submit([{ type: 'note', requirements: { agentIds: [agent.id] } }]);
    const submitted = (await submitter.colony.tasks.get(task!.id)) as TaskRecord;
    await runner.colony.start();
    // Claimed by the poll (nothing told this process of the task), then given back for want of the agent.
    const givenBack = await eventually(async () => {
      const t = await runner.colony.tasks.get(task!.id);
      return t.status === 'queued' && t.updatedAt !== submitted.updatedAt ? t : undefined;
    });
    expect(givenBack).toMatchObject({ attempts: 0, runnerId: null, startedAt: null, assignedAgent: null });
    await delay(300);
    expect(await runner.colony.tasks.get(task!.id)).toEqual(givenBack);
    expect(r.started).toEqual([]);

    await runner.colony.agents.setStatus(agent.id, 'idle');
    const [done] = await runner.colony.tasks.waitFor([task!.id]);
    expect(done).toMatchObject({ status: 'completed', attempts: 1, assignedAgent: agent.id });
    // The give-back was nobody's failure: the agent's record holds the one completion (written as its slot is released).
    const metrics = await eventually(async () => {
      const found = await runner.colony.store.metrics.list({ entityType: 'agent', entityId: agent.id, limit: 10 });
      return found.length > 0 ? found : undefined;
    });
    expect(metrics.map((m) => m.name)).toEqual(['task.completed']);
  });
});
