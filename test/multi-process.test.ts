import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import { startColonyProcess } from './support/colony-process.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * Many processes, one truth: real Colony processes (test/fixtures/colony-process.mjs, on the built
 * code) sharing one SQLite file with this test's own colony, which submits the work and reads the
 * facts back from the store.
 */


const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function project(): Promise<{ dir: string; colony: Colony }> {
  const dir = tempDir('colony-multi-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // An agent type with one slot: the contended resource.
  mkdirSync(join(dir, '.colony', 'agents'), { recursive: true });
  writeFileSync(
    join(dir, '.colony', 'agents', 'solo.md'),
    '---\nname: solo\ndescription: One task at a time.\ncapabilities:\n  - solo-work\nmax_concurrency: 1\n---\n\nDo the work.\n',
  );
  const colony = await createColony({ projectDir: dir, env: {}, config: { log: { level: 'silent' } } });
  cleanups.push(() => colony.close({ drainTimeoutMs: 0 }));
  colony.registerExecutor({ type: 'noop', execute: async ({ task }) => task.id });
  return { dir, colony };
}


describe('agent slots across processes', () => {
  it('60 tasks pinned to a one-slot agent, run by two processes: every task once, no false failure, the agent healthy and free', async () => {
    const { dir, colony } = await project();
    const agent = await colony.agents.spawn({ type: 'solo' });
    expect(agent.maxConcurrency).toBe(1);
    // Both processes are polling before the work arrives, so both contend for the agent.

    const processes = await Promise.all([startColonyProcess(cleanups, dir), startColonyProcess(cleanups, dir)]);
    const tasks = await colony.tasks.submit(Array.from({ length: 60 }, (_, i) => ({ type: 'noop', name: `t${i}`, requirements: { agentIds: [agent.id] } })));
    const done = await eventually(async () => {
      if (processes.some((p) => p.exitCode !== null)) throw new Error('a colony process exited before it was stopped');
      const counts = await colony.store.tasks.countByStatus();
      return counts.completed === tasks.length ? counts : undefined;
    }, 60_000);
    expect(done).toMatchObject({ completed: 60, failed: 0, running: 0, queued: 0 });

    const finished = await colony.store.tasks.list({ limit: 100 });
    // Each task ran exactly once (a claim given back for want of the agent is not an attempt) on the agent.
    expect(finished.map((t) => t.attempts)).toEqual(finished.map(() => 1));
    expect(new Set(finished.map((t) => t.assignedAgent))).toEqual(new Set([agent.id]));

    const after = await colony.agents.get(agent.id);
    expect(after).toMatchObject({ status: 'idle', health: 'healthy', currentTasks: [] });
    const metrics = await colony.store.metrics.list({ entityType: 'agent', entityId: agent.id, limit: 1_000 });
    expect(metrics.filter((m) => m.name === 'task.failed')).toEqual([]);
    expect(metrics.filter((m) => m.name === 'task.completed')).toHaveLength(60);
  });

  it('two processes acquiring the same one-slot agent at once: one gets it, and the slot is recorded', async () => {
    const { dir, colony } = await project();
    const agent = await colony.agents.spawn({ type: 'solo' });
    // A second colony on its own connection to the same file, as a second process has.
    const other = await createColony({ projectDir: dir, env: {}, config: { log: { level: 'silent' } } });
    cleanups.push(() => other.close({ drainTimeoutMs: 0 }));
    const [a, b] = await Promise.all([
      colony.agents.acquire({ agentIds: [agent.id] }, 'tsk_a'),
      other.agents.acquire({ agentIds: [agent.id] }, 'tsk_b'),
    ]);
    const winners = [a, b].filter((x) => x !== undefined);
    expect(winners).toHaveLength(1);
    const stored = await colony.agents.get(agent.id);
    expect(stored.currentTasks).toEqual(winners[0]?.currentTasks);
    expect(stored.currentTasks).toHaveLength(1);
  });
});
