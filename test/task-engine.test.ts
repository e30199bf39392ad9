import { afterEach, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import { ConflictError, ExecutionError, ValidationError } from '../src/domain/errors.js';
import type { ColonyEvent } from '../src/domain/events.js';
import type { JsonValue } from '../src/domain/json.js';
import type { TaskContext, TaskExecutor } from '../src/tasks/task-executor.js';
import { delay, eventually, FAST, tempColony, type TempColony } from './support/temp-colony.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

async function colonyWith(config: Parameters<typeof tempColony>[0] = {}): Promise<TempColony> {
  const t = await tempColony(config);
  cleanups.push(t.cleanup);
  return t;
}

/** An executor driven by the test: `behave` decides per call. Records every call in order. */
function scripted(type: string, behave: (ctx: TaskContext, call: number) => Promise<JsonValue> | JsonValue = () => null) {
  const calls: { name: string | null; id: string; attempt: number; at: number }[] = [];
  const executor: TaskExecutor = {
    type,
    async execute(ctx) {
      calls.push({ name: ctx.task.name, id: ctx.task.id, attempt: ctx.attempt, at: Date.now() });
      return behave(ctx, calls.length);
    },
  };
  return { executor, calls };
}

function collect(colony: Colony, types: string[] = ['task.*']): ColonyEvent[] {
  const seen: ColonyEvent[] = [];
  colony.events.subscribe({ types }, (e) => {
    seen.push(e);
  });
  return seen;
}

describe('task engine', () => {
  it('runs a task only after all its dependencies completed', async () => {
    const { colony } = await colonyWith({ tasks: { concurrency: 4 } });
    const work = scripted('work', async () => {
      await delay(5);
      return { ok: true };
    });
    colony.registerExecutor(work.executor);
    await colony.start();
    const tasks = await colony.tasks.submit([
      { type: 'work', name: 'd', dependencies: ['b', 'c'] },
      { type: 'work', name: 'b', dependencies: ['a'] },
      { type: 'work', name: 'c', dependencies: ['a'] },
      { type: 'work', name: 'a' },
    ]);
    const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(done.every((t) => t.status === 'completed')).toBe(true);
    const order = work.calls.map((c) => c.name);
    expect(order[0]).toBe('a');
    expect(order[3]).toBe('d');
    expect(done.find((t) => t.name === 'd')?.result).toEqual({ ok: true });
  });

  it('starts ready tasks in priority order, first come first served within a priority', async () => {
    const { colony } = await colonyWith({ tasks: { concurrency: 1 } });
    const work = scripted('work');
    colony.registerExecutor(work.executor);
    const specs = [
      { type: 'work', name: 'low', priority: 'low' },
      { type: 'work', name: 'normal-1' },
      { type: 'work', name: 'critical', priority: 'critical' },
      { type: 'work', name: 'normal-2', priority: 50 },
      { type: 'work', name: 'high', priority: 'high' },
    ];
    const tasks = await colony.tasks.submit(specs);
    await colony.start();
    await colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(work.calls.map((c) => c.name)).toEqual(['critical', 'high', 'normal-1', 'normal-2', 'low']);
  });

  it('never runs more tasks at once than the concurrency limit', async () => {
    const { colony } = await colonyWith({ tasks: { concurrency: 3 } });
    let running = 0;
    let peak = 0;
    colony.registerExecutor({
      type: 'work',
      async execute() {
        running++;
        peak = Math.max(peak, running);
        await delay(10);
        running--;
        return null;
      },
    });
    await colony.start();
    const tasks = await colony.tasks.submit(Array.from({ length: 20 }, (_, i) => ({ type: 'work', name: `t${i}` })));
    await colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(peak).toBe(3);
  });

  it('retries a failing task with exponential backoff, then completes it', async () => {
    const { colony } = await colonyWith({ tasks: { retryBaseDelayMs: 40, retryMaxDelayMs: 1_000, retryJitter: 0 } });
    const flaky = scripted('flaky', (_ctx, call) => {
      if (call < 3) throw new ExecutionError(`boom ${call}`);
      return 'third time lucky';
    });
    colony.registerExecutor(flaky.executor);
    const events = collect(colony, ['task.failed']);
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'flaky', maxRetries: 3 }]);
    const [done] = await colony.tasks.waitFor([task!.id]);
    expect(done!.status).toBe('completed');
    expect(done!.attempts).toBe(3);
    expect(done!.result).toBe('third time lucky');
    await colony.events.flush();
    const failures = events.map((e) => e.data as { willRetry: boolean; retryInMs: number; attempt: number });
    expect(failures.map((f) => [f.attempt, f.willRetry, f.retryInMs])).toEqual([
      [1, true, 40],
      [2, true, 80],
    ]);
    // The backoff is honoured: each retry starts no earlier than its delay after the previous attempt.
    expect(flaky.calls[1]!.at - flaky.calls[0]!.at).toBeGreaterThanOrEqual(40);
    expect(flaky.calls[2]!.at - flaky.calls[1]!.at).toBeGreaterThanOrEqual(80);
  });

  it('fails a task when retries run out, rolls it back once, and cancels its dependents transitively', async () => {
    const { colony } = await colonyWith();
    const rollbacks: string[] = [];
    colony.registerExecutor({
      type: 'broken',
      async execute() {
        throw new ExecutionError('disk on fire');
      },
      async rollback(ctx) {
        rollbacks.push(`${ctx.task.name}:${ctx.error.message}`);
      },
    });
    const ok = scripted('ok');
    colony.registerExecutor(ok.executor);
    const events = collect(colony, ['task.rolledback', 'task.cancelled']);
    await colony.start();
    const tasks = await colony.tasks.submit([
      { type: 'broken', name: 'build', maxRetries: 1 },
      { type: 'ok', name: 'test', dependencies: ['build'] },
      { type: 'ok', name: 'deploy', dependencies: ['test'] },
      { type: 'ok', name: 'independent' },
    ]);
    const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
    const byName = Object.fromEntries(done.map((t) => [t.name, t]));
    expect(byName.build!.status).toBe('failed');
    expect(byName.build!.attempts).toBe(2);
    expect(byName.build!.error).toMatchObject({ code: 'execution', message: 'disk on fire' });
    expect(byName.test!.status).toBe('cancelled');
    expect(byName.test!.error?.message).toBe('dependency build failed');
    expect(byName.deploy!.status).toBe('cancelled');
    expect(byName.deploy!.error?.message).toBe('dependency test was cancelled');
    expect(byName.independent!.status).toBe('completed');
    expect(ok.calls.map((c) => c.name)).toEqual(['independent']);
    expect(rollbacks).toEqual(['build:disk on fire']);
    await colony.events.flush();
    expect(events.filter((e) => e.type === 'task.rolledback').map((e) => (e.data as { ok: boolean }).ok)).toEqual([true]);
  });

  it('does not retry an error marked not retryable', async () => {
    const { colony } = await colonyWith();
    const strict = scripted('strict', () => {
      throw new ValidationError('input makes no sense');
    });
    colony.registerExecutor(strict.executor);
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'strict', maxRetries: 5 }]);
    const [done] = await colony.tasks.waitFor([task!.id]);
    expect(done).toMatchObject({ status: 'failed', attempts: 1 });
    expect(done!.error?.code).toBe('validation');
  });

  it('times out a task that runs too long, even if its executor ignores the signal', async () => {
    const { colony } = await colonyWith();
    let sawAbort: unknown = null;
    colony.registerExecutor({
      type: 'stuck',
      async execute(ctx) {
        ctx.signal.addEventListener('abort', () => {
          sawAbort = ctx.signal.reason;
        });
        return new Promise<JsonValue>(() => undefined);
      },
    });
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'stuck', timeoutMs: 50, maxRetries: 1 }]);
    const [done] = await colony.tasks.waitFor([task!.id]);
    expect(done).toMatchObject({ status: 'failed', attempts: 2 });
    expect(done!.error).toMatchObject({ code: 'timeout', message: 'task timed out after 50ms' });
    expect((sawAbort as Error).message).toBe('task timed out after 50ms');
  });

  it('cancels a running task through its signal and cascades to dependents', async () => {
    const { colony } = await colonyWith();
    let aborted = false;
    colony.registerExecutor({
      type: 'long',
      execute: (ctx) =>
        new Promise<JsonValue>((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(ctx.signal.reason);
          });
        }),
    });
    colony.registerExecutor(scripted('ok').executor);
    await colony.start();
    const [long, after] = await colony.tasks.submit([
      { type: 'long', name: 'long' },
      { type: 'ok', name: 'after', dependencies: ['long'] },
    ]);
    await eventually(async () => (await colony.tasks.get(long!.id)).status === 'running');
    const cancelled = await colony.tasks.cancel(long!.id);
    expect(cancelled.status).toBe('cancelled');
    const [l, a] = await colony.tasks.waitFor([long!.id, after!.id]);
    expect(aborted).toBe(true);
    expect(l!.status).toBe('cancelled');
    expect(l!.attempts).toBe(1);
    expect(a!.status).toBe('cancelled');
    await expect(colony.tasks.cancel(long!.id)).rejects.toBeInstanceOf(ConflictError);
  });

  it('retries a failed task on request, restoring the dependents cancelled because of it', async () => {
    const { colony } = await colonyWith();
    let healthy = false;
    colony.registerExecutor({
      type: 'gate',
      async execute() {
        if (!healthy) throw new ExecutionError('not yet');
        return 'open';
      },
    });
    colony.registerExecutor(scripted('ok').executor);
    await colony.start();
    const [gate, next] = await colony.tasks.submit([
      { type: 'gate', name: 'gate', maxRetries: 0 },
      { type: 'ok', name: 'next', dependencies: ['gate'] },
    ]);
    await colony.tasks.waitFor([gate!.id, next!.id]);
    expect((await colony.tasks.get(next!.id)).status).toBe('cancelled');
    await expect(colony.tasks.retry(next!.id)).rejects.toThrow(/depends on gate, which is failed: retry that one first/);
    healthy = true;
    const retried = await colony.tasks.retry(gate!.id);
    expect(retried.status).toBe('queued');
    expect(retried.maxAttempts).toBe(2);
    const [g, n] = await colony.tasks.waitFor([gate!.id, next!.id]);
    expect(g).toMatchObject({ status: 'completed', attempts: 2, result: 'open' });
    expect(n!.status).toBe('completed');
    await expect(colony.tasks.retry(gate!.id)).rejects.toThrow(/only failed or cancelled tasks can be retried/);
  });

  it('rejects bad submissions with an error naming the problem, and stores nothing', async () => {
    const { colony } = await colonyWith();
    colony.registerExecutor(scripted('ok').executor);
    const bad: [unknown[], RegExp][] = [
      [[{ type: 'nope' }], /unknown task type "nope"; known types: agent, ok, shell/],
      [[{ type: 'ok', name: 'a', dependencies: ['b'] }, { type: 'ok', name: 'b', dependencies: ['a'] }], /dependency cycle: (a -> b -> a|b -> a -> b)/],
      [[{ type: 'ok', name: 'a', dependencies: ['ghost'] }], /unknown dependencies: a -> ghost/],
      [[{ type: 'shell', name: 'sh', input: { command: '' } }], /task sh: shell task input: command: command must not be empty/],
      [[{ type: 'shell', input: { cmd: 'ls' } }], /shell task input/],
      [[{ type: 'ok', priority: 'urgent' }], /priority/],
      [[{ type: 'ok', timeoutMs: '5 parsecs' }], /invalid duration/],
      [[{ type: 'ok', bogus: true }], /bogus/],
      [[{ type: 'ok', name: 'x' }, { type: 'ok', name: 'x' }], /duplicate task name "x"/],
      [[], /no tasks/],
    ];
    for (const [specs, message] of bad) {
      await expect(colony.tasks.submit(specs), JSON.stringify(specs)).rejects.toThrow(message);
    }
    expect(await colony.tasks.count()).toBe(0);
  });

  it('drains running tasks on stop, and requeues those still running past the drain timeout', async () => {
    const { colony } = await colonyWith({ tasks: { concurrency: 2 } });
    colony.registerExecutor({
      type: 'sleep',
      async execute(ctx) {
        const ms = (ctx.task.input as { ms: number }).ms;
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(ctx.signal.reason);
          });
        });
        return ms;
      },
    });
    await colony.start();
    const [quick, slow] = await colony.tasks.submit([
      { type: 'sleep', name: 'quick', input: { ms: 50 } },
      { type: 'sleep', name: 'slow', input: { ms: 60_000 } },
    ]);
    await eventually(async () => (await colony.tasks.countByStatus()).running === 2);
    const { drained } = await colony.stop({ drainTimeoutMs: 300 });
    expect(drained).toBe(false);
    expect((await colony.tasks.get(quick!.id)).status).toBe('completed');
    const s = await colony.tasks.get(slow!.id);
    expect(s.status).toBe('queued');
    expect(s.maxAttempts).toBe(slow!.maxAttempts + 1);
  });

  it('assigns an agent with the required capabilities and records its track record', async () => {
    const { colony } = await colonyWith();
    const seen = new Map<string, string | null>();
    colony.registerExecutor({
      type: 'review',
      async execute(ctx) {
        seen.set(ctx.task.id, ctx.agent?.type ?? null);
        return 'lgtm';
      },
    });
    await colony.start();
    const tasks = await colony.tasks.submit([
      { type: 'review', requirements: { capabilities: ['review'] } },
      { type: 'review', requirements: { agentType: 'security-auditor' } },
    ]);
    const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(done.every((t) => t.status === 'completed' && t.assignedAgent)).toBe(true);
    expect(seen.get(tasks[1]!.id)).toBe('security-auditor');
    const agent = await colony.agents.get(done[0]!.assignedAgent!);
    expect(agent.capabilities).toContain('review');
    await eventually(async () => {
      const h = await colony.agents.health(agent.id);
      return h.agent.status === 'idle' && h.trackRecord.tasksCompleted === 1 ? h : undefined;
    });
  });

  it('persists every step as events correlated with the task', async () => {
    const { colony } = await colonyWith();
    colony.registerExecutor(scripted('ok').executor);
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'ok', name: 'solo' }]);
    await colony.tasks.waitFor([task!.id]);
    await colony.events.flush();
    const stored = await colony.store.events.list({ correlationId: task!.id });
    expect(stored.map((e) => e.type)).toEqual(['task.created', 'task.started', 'task.completed']);
    expect((stored[0]!.data as { status: string }).status).toBe('queued');
    expect(stored.every((e, i) => i === 0 || e.id > stored[i - 1]!.id)).toBe(true);
  });
});

describe('several colonies on one database (several processes)', () => {
  it('runs each task exactly once when two engines compete for the same queue', async () => {
    const first = await colonyWith({ tasks: { concurrency: 4 } });
    const second = await tempColony({ tasks: { concurrency: 4 } }, { dir: first.dir });
    cleanups.push(second.cleanup);
    const runs = new Map<string, number>();
    const counting: TaskExecutor = {
      type: 'count',
      async execute(ctx) {
        runs.set(ctx.task.id, (runs.get(ctx.task.id) ?? 0) + 1);
        await delay(1);
        return null;
      },
    };
    first.colony.registerExecutor(counting);
    second.colony.registerExecutor(counting);
    await first.colony.start();
    await second.colony.start();
    const tasks = await first.colony.tasks.submit(Array.from({ length: 200 }, () => ({ type: 'count' })));
    await first.colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(runs.size).toBe(200);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    const runners = new Set((await first.colony.tasks.list({ limit: 500 })).map((t) => t.runnerId));
    expect(runners.size).toBe(2);
  });

  it('recovers a task held by a process that died, and runs it again', async () => {
    const { colony, dir } = await colonyWith();
    colony.registerExecutor(scripted('ok', () => 'recovered').executor);
    const [task] = await colony.tasks.submit([{ type: 'ok', name: 'orphan' }]);
    // Make it look like a process with a dead pid claimed it and then vanished (kill -9).
    const claimed = { ...task!, status: 'running' as const, attempts: 1, runnerId: 'run_dead', startedAt: Date.now() };
    expect(await colony.store.tasks.update(claimed, { status: 'queued', attempts: 0 })).toBe(true);
    await colony.store.runners.upsert({ id: 'run_dead', pid: 2 ** 22 + 12345, hostname: (await import('node:os')).hostname(), kind: 'run', startedAt: 0, heartbeatAt: Date.now() });
    const events = collect(colony, ['task.recovered']);
    await colony.start();
    const [done] = await colony.tasks.waitFor([task!.id]);
    expect(done).toMatchObject({ status: 'completed', attempts: 2, result: 'recovered' });
    await colony.events.flush();
    expect(events.map((e) => (e.data as { deadRunnerId: string }).deadRunnerId)).toEqual(['run_dead']);
    expect((await colony.store.runners.list()).map((r) => r.id)).not.toContain('run_dead');
    void dir;
  });

  it('leaves a live runner’s tasks alone', async () => {
    const { colony } = await colonyWith();
    colony.registerExecutor(scripted('ok').executor);
    const [task] = await colony.tasks.submit([{ type: 'ok' }]);
    const claimed = { ...task!, status: 'running' as const, attempts: 1, runnerId: 'run_alive' };
    await colony.store.tasks.update(claimed, { status: 'queued', attempts: 0 });
    // This test process is alive: a runner with our pid on our host is alive.
    await colony.store.runners.upsert({ id: 'run_alive', pid: process.pid, hostname: (await import('node:os')).hostname(), kind: 'run', startedAt: 0, heartbeatAt: Date.now() });
    await colony.start();
    await delay(150);
    expect((await colony.tasks.get(task!.id)).status).toBe('running');
  });
});

describe('createColony', () => {
  it('builds independent colonies: nothing is shared between two in one process', async () => {
    const a = await colonyWith();
    const b = await colonyWith();
    await a.colony.agents.spawn({ type: 'coder' });
    expect(await a.colony.agents.list()).toHaveLength(1);
    expect(await b.colony.agents.list()).toHaveLength(0);
  });

  it('refuses invalid configuration with an error naming the key', async () => {
    await expect(createColony({ projectDir: FAST.dataDir ?? '.', config: { tasks: { concurrency: 0 } }, logger: undefined })).rejects.toThrow(
      /invalid config key "tasks.concurrency"/,
    );
  });
});
