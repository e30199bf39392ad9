import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import type { TaskRecord } from '../src/domain/task.js';
import { startClaimWorker } from './support/claim-worker.js';
import { useTestDatabase } from './support/postgres.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * A fan-out of 1,500 tasks behind one gate, submitted by one process; two worker processes started
 * after the submission read the whole fan-out as pending (their first pass) and reconcile every 50 ms,
 * so that when the submitter completes the gate, its promotion of the fan-out (the completion's probe
 * of dependents) races with theirs. Each task must be promoted by exactly one process (one
 * `task.queued` event) and run exactly once, after the gate.
 */

const FAN_OUT = 1_500;
const place = useTestDatabase();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a large fan-out promoted by racing processes on PostgreSQL', () => {
  it('each dependent is queued once, by one process, and runs once after its gate', async () => {
    const schema = await place.freshSchema();
    cleanups.push(() => schema.drop());
    const dir = tempDir('colony-fan-out-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    const submitter = await createColony({ projectDir: dir, env: {}, config: { database: { url: schema.url, poolSize: 4 }, log: { level: 'silent' } } });
    cleanups.push(() => submitter.close({ drainTimeoutMs: 0 }));
    submitter.registerExecutor({ type: 'gate', execute: async () => null });
    submitter.registerExecutor({ type: 'noop', execute: async () => null });
    const [gate] = await submitter.tasks.submit([{ type: 'gate', name: 'gate' }]);
    if (!gate) throw new Error('no gate');
    const fan = await submitter.tasks.submit(Array.from({ length: FAN_OUT }, () => ({ type: 'noop', dependencies: [gate.id] })));

    const logs = [0, 1].map((i) => join(dir, `executions-${i}.log`));
    for (const log of logs) await startClaimWorker(cleanups, dir, schema.url, log, 50);
    // The submitter runs only the gate; the fan-out runs on the workers.
    await submitter.start({ scope: { taskIds: [gate.id] } });

    await eventually(async () => {
      const counts = await submitter.tasks.countByStatus();
      return counts.completed === FAN_OUT + 1 ? counts : undefined;
    }, 120_000);

    const gateDone = await submitter.tasks.get(gate.id);
    const tasks: TaskRecord[] = [];
    const ids = fan.map((t) => t.id);
    for (let i = 0; i < ids.length; i += 500) tasks.push(...(await submitter.tasks.list({ ids: ids.slice(i, i + 500) })));
    expect(tasks).toHaveLength(FAN_OUT);
    for (const task of tasks) {
      expect(task.attempts).toBe(1);
      expect(task.startedAt ?? 0).toBeGreaterThanOrEqual(gateDone.completedAt ?? Infinity);
    }
    const executions = logs.flatMap((log) => readFileSync(log, 'utf8').split('\n').filter(Boolean));
    expect(executions).toHaveLength(FAN_OUT);
    expect(new Set(executions).size).toBe(FAN_OUT);

    const queued = await submitter.store.events.list({ types: ['task.queued'], limit: 10 * FAN_OUT });
    const perTask = new Map<string, number>();
    for (const event of queued) {
      const taskId = (event.data as { taskId: string }).taskId;
      perTask.set(taskId, (perTask.get(taskId) ?? 0) + 1);
    }
    for (const id of ids) expect(perTask.get(id), `task.queued events of ${id}`).toBe(1);
  });
});
