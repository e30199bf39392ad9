import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { pidAlive } from '../src/kernel/runner-registry.js';
import { eventually, tempDir } from './support/temp-colony.js';

const COLONY = resolve(import.meta.dirname, '../bin/colony');
const TASKS = 12;

/** Each task appends its name to a log when it starts and when it finishes, then takes a while. */
function workflow(): string {
  const lines = ['name: crash-test', 'concurrency: 2', 'defaults:', '  retries: 2', 'tasks:'];
  for (let i = 0; i < TASKS; i++) {
    lines.push(`  - id: step-${i}`);
    lines.push(`    run: echo start step-${i} >> runs.log && sleep 0.25 && echo done step-${i} >> runs.log`);
    if (i >= 2) lines.push(`    depends_on: [step-${i - 2}]`);
  }
  return `${lines.join('\n')}\n`;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('crash recovery', () => {
  it('after kill -9 mid-run, running the workflow again finishes it without losing or repeating completed tasks', async () => {
    const dir = tempDir('colony-crash-');
    dirs.push(dir);
    writeFileSync(join(dir, 'wf.yaml'), workflow());
    const env = { ...process.env, COLONY_LOG_LEVEL: 'silent' };
    const child = spawn(COLONY, ['run', 'wf.yaml', '--quiet'], { cwd: dir, env, stdio: 'ignore' });
    const store = new SqliteStore({ path: join(dir, '.colony', 'colony.db'), busyTimeoutMs: 5_000 });
    try {
      // Wait until some tasks completed and one is running, then kill the process outright.
      await eventually(async () => {
        if (!existsSync(join(dir, '.colony', 'colony.db'))) return false;
        const counts = await store.tasks.countByStatus().catch(() => undefined);
        return counts && counts.completed >= 3 && counts.running >= 1 ? counts : undefined;
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(pidAlive(child.pid as number)).toBe(false);

      const before = await store.tasks.list({});
      const completedBefore = before.filter((t) => t.status === 'completed').map((t) => t.name);
      const runningBefore = before.filter((t) => t.status === 'running').map((t) => t.name);
      expect(completedBefore.length).toBeGreaterThanOrEqual(3);
      expect(runningBefore.length).toBeGreaterThanOrEqual(1);
      expect(completedBefore.length).toBeLessThan(TASKS);

      // Run the same command again: it resumes the unfinished run.
      const code = await new Promise<number | null>((resolveCode) => {
        const again = spawn(COLONY, ['run', 'wf.yaml', '--quiet'], { cwd: dir, env, stdio: 'ignore' });
        again.once('exit', resolveCode);
      });
      expect(code).toBe(0);

      const after = await store.tasks.list({});
      expect(after).toHaveLength(TASKS);
      expect(after.every((t) => t.status === 'completed')).toBe(true);
      expect(new Set(after.map((t) => t.workflowId)).size).toBe(1);

      const log = readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n');
      const starts = (name: string) => log.filter((l) => l === `start ${name}`).length;
      for (const name of completedBefore) expect(starts(name as string), `${name} ran again`).toBe(1);
      for (const t of after) expect(log).toContain(`done ${t.name}`);
      // The task that was cut off mid-run was recovered and run again: at least once, as documented.
      for (const name of runningBefore) expect(starts(name as string)).toBeGreaterThanOrEqual(1);

      const recovered = await store.events.list({ types: ['task.recovered'] });
      expect(recovered.map((e) => (e.data as { name: string }).name).sort()).toEqual([...runningBefore].sort());
      expect(await store.runners.list()).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await store.close();
    }
  });
});
