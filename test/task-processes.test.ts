import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/kernel/logger.js';
import { groupHasLiveMembers, processStartTime } from '../src/sandbox/process-group.js';
import { OrphanedProcessReaper } from '../src/tasks/orphaned-process-reaper.js';
import { eventually, tempColony, type TempColony } from './support/temp-colony.js';

/**
 * The records of task process groups (TaskProcessRecorder) and their ending by recovery
 * (OrphanedProcessReaper), on real processes and a real SQLite file. The kill -9 scenarios are in
 * orphaned-task-processes.test.ts.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function colony(): Promise<TempColony> {
  const temp = await tempColony({ sandbox: { mode: 'off' } });
  cleanups.push(() => temp.cleanup());
  return temp;
}

/** A real process group led by a shell that ignores SIGTERM: only SIGKILL ends it. */
function stubbornGroup(): ChildProcess {
  const child = spawn('/bin/sh', ['-c', "trap '' TERM; sleep 1000 & wait"], { detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  cleanups.push(async () => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  });
  return child;
}

const silent = createLogger('silent');

describe('task process groups on record', () => {
  it('a shell task\'s group is on record, with its leader\'s start time, exactly while it runs', async () => {
    const { colony: c, dir } = await colony();
    await c.start();
    const [task] = await c.tasks.submit([{ type: 'shell', name: 'wait-for-go', input: { command: 'while [ ! -e go ]; do sleep 0.01; done' } }]);
    const taskId = (task as { id: string }).id;
    const [group] = await eventually(async () => {
      const groups = await c.store.taskProcesses.listHeldBy([c.runners.id]);
      return groups.length === 1 ? groups : undefined;
    });
    expect(group).toMatchObject({ taskId, attempt: 1, runnerId: c.runners.id, hostname: c.runners.host });
    expect(group?.leaderStartTime).toBe(await processStartTime(group?.pgid as number));

    writeFileSync(join(dir, 'go'), '');
    await eventually(async () => (await c.store.tasks.get(taskId))?.status === 'completed');
    expect(await c.store.taskProcesses.listHeldBy([c.runners.id])).toEqual([]);
  });
});

describe('OrphanedProcessReaper', () => {
  it('ends a recorded group on this host whose leader is the one recorded: SIGTERM, then SIGKILL', async () => {
    const { colony: c } = await colony();
    const child = stubbornGroup();
    const pgid = child.pid as number;
    const leaderStartTime = await processStartTime(pgid);
    expect(leaderStartTime).not.toBeNull();
    await c.store.taskProcesses.add({ hostname: 'here', pgid, runnerId: 'run_dead', taskId: 't', attempt: 1, leaderStartTime, startedAt: 1 });

    await new OrphanedProcessReaper({ store: c.store.taskProcesses, hostname: 'here', logger: silent, graceMs: 50 }).endGroupsOf(['run_dead']);
    expect(await groupHasLiveMembers(pgid)).toBe(false);
    expect(await c.store.taskProcesses.listHeldBy(['run_dead'])).toEqual([]);
  });

  it('never signals a group whose leader started at another time (a reused pid), nor one on another host; forgets both', async () => {
    const { colony: c } = await colony();
    const reused = stubbornGroup();
    const elsewhere = stubbornGroup();
    const start = async (child: ChildProcess) => (await processStartTime(child.pid as number)) as string;
    await c.store.taskProcesses.add({ hostname: 'here', pgid: reused.pid as number, runnerId: 'run_dead', taskId: 't', attempt: 1, leaderStartTime: `${Number(await start(reused)) - 1}`, startedAt: 1 });
    await c.store.taskProcesses.add({ hostname: 'there', pgid: elsewhere.pid as number, runnerId: 'run_dead', taskId: 't', attempt: 1, leaderStartTime: await start(elsewhere), startedAt: 2 });

    await new OrphanedProcessReaper({ store: c.store.taskProcesses, hostname: 'here', logger: silent, graceMs: 50 }).endGroupsOf(['run_dead']);
    expect(await groupHasLiveMembers(reused.pid as number)).toBe(true);
    expect(await groupHasLiveMembers(elsewhere.pid as number)).toBe(true);
    expect(await c.store.taskProcesses.listHeldBy(['run_dead'])).toEqual([]);
  });
});
