import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_THRESHOLDS } from '../src/agents/agent-manager.js';
import { SELECTION_WEIGHTS, hasCapacity, satisfies, scoreAgent, selectAgent } from '../src/agents/agent-selector.js';
import { createColony, type Colony } from '../src/app/colony.js';
import type { ConfigInput } from '../src/app/config.js';
import type { AgentRecord, AgentTrackRecord } from '../src/domain/agent.js';
import { CapacityError, ColonyError, ConflictError, ValidationError } from '../src/domain/errors.js';
import type { ColonyEvent } from '../src/domain/events.js';

/**
 * Agent types of the test project (`.colony/agents/`), with capabilities no builtin type has, so that
 * selection and auto-spawning are decided by these alone.
 */
const PROJECT_TYPES: Record<string, { capabilities: string[]; maxConcurrency: number }> = {
  'probe-solo': { capabilities: ['probe-x'], maxConcurrency: 1 },
  'probe-pair': { capabilities: ['probe-x', 'probe-y'], maxConcurrency: 2 },
  'probe-other': { capabilities: ['probe-z'], maxConcurrency: 4 },
};

const dirs: string[] = [];
const colonies: Colony[] = [];

afterEach(async () => {
  for (const colony of colonies.splice(0)) await colony.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function newColony(config: ConfigInput = {}): Promise<Colony> {
  const projectDir = mkdtempSync(join(tmpdir(), 'colony-agents-'));
  dirs.push(projectDir);
  const agentsDir = join(projectDir, '.colony', 'agents');
  mkdirSync(agentsDir, { recursive: true });
  for (const [name, type] of Object.entries(PROJECT_TYPES)) {
    writeFileSync(
      join(agentsDir, `${name}.md`),
      [
        '---',
        `name: ${name}`,
        `description: Test agent type ${name}.`,
        'capabilities:',
        ...type.capabilities.map((c) => `  - ${c}`),
        `max_concurrency: ${type.maxConcurrency}`,
        '---',
        '',
        `You are ${name}, a test agent.`,
        '',
      ].join('\n'),
    );
  }
  const colony = await createColony({ projectDir, config: { ...config, log: { level: 'silent' } } });
  colonies.push(colony);
  return colony;
}

async function rejection(promise: Promise<unknown>): Promise<ColonyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ColonyError);
  return error as ColonyError;
}

function recordEvents(colony: Colony, types: string[]): ColonyEvent[] {
  const seen: ColonyEvent[] = [];
  colony.events.subscribe({ types }, (event) => {
    seen.push(event);
  });
  return seen;
}

describe('AgentManager (through createColony)', () => {
  describe('catalog', () => {
    it('ships at least 50 builtin agent types, listed by name, plus the project types', async () => {
      const colony = await newColony();
      expect(await colony.agents.catalogProblems()).toEqual([]);
      const types = await colony.agents.types();
      const builtin = types.filter((t) => t.source === 'builtin');
      expect(builtin.length).toBeGreaterThanOrEqual(50);
      const names = types.map((t) => t.name);
      expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
      expect(await colony.agents.type('probe-pair')).toMatchObject({ source: 'project', capabilities: ['probe-x', 'probe-y'], maxConcurrency: 2 });
      expect((await colony.agents.type('coder')).source).toBe('builtin');
    });
  });

  describe('spawn', () => {
    it('persists the agent and publishes agent.spawned', async () => {
      const colony = await newColony();
      const spawned = recordEvents(colony, ['agent.spawned']);
      const agent = await colony.agents.spawn({ type: 'probe-pair', name: 'Pair One', capabilities: ['extra', 'probe-x'], config: { model: 'haiku' } });

      expect(agent).toMatchObject({
        name: 'Pair One',
        type: 'probe-pair',
        status: 'idle',
        health: 'healthy',
        capabilities: ['probe-x', 'probe-y', 'extra'],
        config: { model: 'haiku' },
        currentTasks: [],
        maxConcurrency: 2,
        terminatedAt: null,
      });
      expect(agent.id).toMatch(/^agt_/);
      expect(await colony.store.agents.get(agent.id)).toEqual(agent);

      await colony.events.flush();
      expect(spawned).toHaveLength(1);
      expect(spawned[0]).toMatchObject({
        type: 'agent.spawned',
        source: 'agent-manager',
        correlationId: agent.id,
        data: { agentId: agent.id, name: 'Pair One', type: 'probe-pair', capabilities: agent.capabilities },
      });
      expect((await colony.store.events.list({ types: ['agent.spawned'] })).map((e) => e.id)).toEqual([spawned[0]?.id]);
    });

    it('names an agent after its type when no name is given', async () => {
      const colony = await newColony();
      const agent = await colony.agents.spawn({ type: 'coder' });
      expect(agent.name.startsWith('coder-')).toBe(true);
      expect(agent.capabilities).toEqual((await colony.agents.type('coder')).capabilities);
    });

    it('rejects an unknown type, naming it, and stores nothing', async () => {
      const colony = await newColony();
      const error = await rejection(colony.agents.spawn({ type: 'no-such-type' }));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain('no-such-type');
      expect(await colony.store.agents.count({})).toBe(0);
    });

    it('rejects an invalid name', async () => {
      const colony = await newColony();
      for (const name of ['', ' leading-space', 'a/b', 'x'.repeat(65), 'semi;colon']) {
        const error = await rejection(colony.agents.spawn({ type: 'coder', name }));
        expect(error, name).toBeInstanceOf(ValidationError);
      }
      expect(await colony.store.agents.count({})).toBe(0);
      expect((await colony.agents.spawn({ type: 'coder', name: 'ok_name-1.v2 x' })).name).toBe('ok_name-1.v2 x');
    });

    it('bounds the pool, counting only agents not terminated', async () => {
      const colony = await newColony({ agents: { maxAgents: 2 } });
      const first = await colony.agents.spawn({ type: 'coder' });
      await colony.agents.spawn({ type: 'coder' });
      const error = await rejection(colony.agents.spawn({ type: 'coder' }));
      expect(error).toBeInstanceOf(CapacityError);
      expect(error.code).toBe('capacity');
      expect(await colony.store.agents.count({})).toBe(2);

      await colony.agents.terminate(first.id);
      await colony.agents.spawn({ type: 'coder' });
      expect(await colony.store.agents.count({ excludeTerminated: true })).toBe(2);
      await rejection(colony.agents.spawn({ type: 'coder' }));
    });

    it('bounds the pool under concurrent spawns', async () => {
      const colony = await newColony({ agents: { maxAgents: 3 } });
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => colony.agents.spawn({ type: 'coder' })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      expect(await colony.store.agents.count({})).toBe(3);
    });
  });

  describe('terminate, list, resolve, pause', () => {
    it('terminates once, then refuses with a conflict', async () => {
      const colony = await newColony();
      const terminated = recordEvents(colony, ['agent.terminated']);
      const agent = await colony.agents.spawn({ type: 'coder' });
      const done = await colony.agents.terminate(agent.id, 'no longer needed');
      expect(done.status).toBe('terminated');
      expect(done.terminatedAt).not.toBeNull();
      expect(await colony.store.agents.get(agent.id)).toMatchObject({ status: 'terminated', terminatedAt: done.terminatedAt });

      const again = await rejection(colony.agents.terminate(agent.id));
      expect(again).toBeInstanceOf(ConflictError);
      await colony.events.flush();
      expect(terminated.map((e) => e.data)).toEqual([{ agentId: agent.id, reason: 'no longer needed' }]);
    });

    it('lists agents with filters', async () => {
      const colony = await newColony();
      const a = await colony.agents.spawn({ type: 'coder' });
      const b = await colony.agents.spawn({ type: 'reviewer' });
      const c = await colony.agents.spawn({ type: 'coder' });
      await colony.agents.terminate(c.id);
      await colony.agents.setStatus(b.id, 'paused');

      const ids = (list: AgentRecord[]) => list.map((x) => x.id).sort();
      expect(ids(await colony.agents.list())).toEqual([a.id, b.id, c.id].sort());
      expect(ids(await colony.agents.list({ type: 'coder' }))).toEqual([a.id, c.id].sort());
      expect(ids(await colony.agents.list({ type: 'coder', excludeTerminated: true }))).toEqual([a.id]);
      expect(ids(await colony.agents.list({ status: 'paused' }))).toEqual([b.id]);
      expect(ids(await colony.agents.list({ status: ['idle', 'terminated'] }))).toEqual([a.id, c.id].sort());
    });

    it('resolves a unique id prefix of at least six characters, and refuses ambiguous or short ones', async () => {
      const colony = await newColony();
      const a = await colony.agents.spawn({ type: 'coder' });
      const b = await colony.agents.spawn({ type: 'coder' });
      let common = 0;
      while (a.id[common] === b.id[common]) common++;
      expect(common).toBeGreaterThanOrEqual(6); // same kind prefix and time part

      const uniqueA = a.id.slice(0, common + 1);
      expect((await colony.agents.get(uniqueA)).id).toBe(a.id);
      expect((await colony.agents.get(b.id.slice(0, common + 1))).id).toBe(b.id);
      expect((await colony.agents.get(a.id.toUpperCase())).id).toBe(a.id);
      expect(await colony.agents.resolveId(a.id)).toBe(a.id);

      const ambiguous = await rejection(colony.agents.get(a.id.slice(0, common)));
      expect(ambiguous.code).toBe('validation');
      expect(ambiguous.message).toContain(a.id);
      expect(ambiguous.message).toContain(b.id);

      // Five characters are too few even where they would be unique.
      await colony.agents.terminate(b.id);
      const short = await rejection(colony.agents.get(a.id.slice(0, 5)));
      expect(['not_found', 'validation']).toContain(short.code);

      expect((await rejection(colony.agents.get('agt_zzzzzzzz'))).code).toBe('not_found');
      expect((await rejection(colony.agents.get('agt_; drop'))).code).toBe('validation');
      // Prefix resolution works for commands that take an id.
      expect((await colony.agents.setStatus(uniqueA, 'paused')).status).toBe('paused');
    });

    it('pauses and resumes an agent; a paused agent is not selected', async () => {
      const colony = await newColony({ agents: { maxAgents: 1 } });
      const updated = recordEvents(colony, ['agent.updated']);
      const agent = await colony.agents.spawn({ type: 'probe-solo' });
      expect((await colony.agents.setStatus(agent.id, 'paused')).status).toBe('paused');
      expect((await colony.store.agents.get(agent.id))?.status).toBe('paused');
      // Paused, and the pool is full: nothing to run the task.
      expect(await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_1')).toBeUndefined();

      expect((await colony.agents.setStatus(agent.id, 'idle')).status).toBe('idle');
      expect((await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_1'))?.id).toBe(agent.id);
      await colony.events.flush();
      expect(updated.map((e) => (e.data as { status: string }).status)).toEqual(['paused', 'idle', 'busy']);

      await colony.agents.terminate(agent.id);
      expect(await rejection(colony.agents.setStatus(agent.id, 'paused'))).toBeInstanceOf(ConflictError);
    });

    it('resumes an agent that still holds tasks as busy', async () => {
      const colony = await newColony();
      const agent = await colony.agents.spawn({ type: 'probe-pair' });
      await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_1');
      expect((await colony.agents.setStatus(agent.id, 'paused')).status).toBe('paused');
      const resumed = await colony.agents.setStatus(agent.id, 'idle');
      expect(resumed.status).toBe('busy');
      expect(resumed.currentTasks).toEqual(['tsk_1']);
    });
  });

  describe('acquire and release', () => {
    it('never chooses an agent lacking a required capability', async () => {
      const colony = await newColony();
      const other = await colony.agents.spawn({ type: 'probe-other' }); // spare capacity, wrong capability
      const solo = await colony.agents.spawn({ type: 'probe-solo' });
      const assigned = recordEvents(colony, ['agent.assigned']);

      const first = await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_1');
      expect(first?.id).toBe(solo.id);
      expect(first).toMatchObject({ status: 'busy', currentTasks: ['tsk_1'] });
      expect(await colony.store.agents.get(solo.id)).toMatchObject({ status: 'busy', currentTasks: ['tsk_1'] });

      // The solo agent is full: a new matching agent is spawned rather than the idle one lacking probe-x.
      for (let i = 2; i <= 4; i++) {
        const next = await colony.agents.acquire({ capabilities: ['probe-x'] }, `tsk_${i}`);
        expect(next).toBeDefined();
        expect(next?.id).not.toBe(other.id);
        expect(next?.capabilities).toContain('probe-x');
      }
      expect((await colony.store.agents.get(other.id))?.currentTasks).toEqual([]);

      // By agent type too.
      expect((await colony.agents.acquire({ agentType: 'probe-other' }, 'tsk_5'))?.id).toBe(other.id);
      await colony.events.flush();
      expect(assigned.map((e) => (e.data as { taskId: string }).taskId)).toEqual(['tsk_1', 'tsk_2', 'tsk_3', 'tsk_4', 'tsk_5']);
    });

    it("keeps a swarm's agents for the tasks that name them", async () => {
      const colony = await newColony();
      const swarmAgent = await colony.agents.spawn({ type: 'probe-other', config: { swarmId: 'swm_x' } });
      // An idle agent of the right type, but a swarm's: a task that does not name it gets a new agent.
      const chosen = await colony.agents.acquire({ agentType: 'probe-other' }, 'tsk_a');
      expect(chosen?.id).not.toBe(swarmAgent.id);
      expect((await colony.agents.acquire({ agentIds: [swarmAgent.id] }, 'tsk_b'))?.id).toBe(swarmAgent.id);
    });

    it('prefers the agent with spare capacity', async () => {
      const colony = await newColony({ agents: { maxAgents: 2 } });
      const a = await colony.agents.spawn({ type: 'probe-pair' });
      const b = await colony.agents.spawn({ type: 'probe-pair' });
      const first = await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_1');
      const second = await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_2');
      // The second task goes to the other, emptier agent.
      expect(new Set([first?.id, second?.id])).toEqual(new Set([a.id, b.id]));

      // Load both to one task each, then free one: the freed one is chosen.
      await colony.agents.release(a.id, a.id === first?.id ? 'tsk_1' : 'tsk_2', { success: true, durationMs: 10 });
      await colony.agents.release(b.id, b.id === first?.id ? 'tsk_1' : 'tsk_2', { success: true, durationMs: 10 });
      await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_3'); // goes to one of them
      const loaded = (await colony.store.agents.list({ status: 'busy' }))[0] as AgentRecord;
      const fourth = await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_4');
      expect(fourth?.id).not.toBe(loaded.id);

      // Both hold one of two: a fifth and sixth task still fit, a seventh does not (pool full).
      expect(await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_5')).toBeDefined();
      expect(await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_6')).toBeDefined();
      expect(await colony.agents.acquire({ capabilities: ['probe-y'] }, 'tsk_7')).toBeUndefined();
      const all = await colony.store.agents.list({});
      expect(all.map((x) => x.currentTasks.length)).toEqual([2, 2]);
    });

    it('prefers the agent with the better track record', async () => {
      const colony = await newColony();
      // The failing agent is spawned first, so a selector ignoring track records would pick it on the tie.
      const failing = await colony.agents.spawn({ type: 'probe-solo' });
      const succeeding = await colony.agents.spawn({ type: 'probe-solo' });
      const now = Date.now();
      await colony.store.metrics.record([
        ...Array.from({ length: 9 }, (_, i) => ({
          entityType: 'agent',
          entityId: succeeding.id,
          name: 'task.completed',
          value: 100 + i,
          metadata: null,
          timestamp: now,
        })),
        ...Array.from({ length: 9 }, () => ({ entityType: 'agent', entityId: failing.id, name: 'task.failed', value: 1, metadata: null, timestamp: now })),
      ]);
      expect((await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_1'))?.id).toBe(succeeding.id);
      const health = await colony.agents.health(succeeding.id);
      expect(health.trackRecord).toEqual({ tasksCompleted: 9, tasksFailed: 0, meanDurationMs: 104 });
      expect(health.load).toBe(1);
    });

    it('auto-spawns the most specialised matching type when no agent has room', async () => {
      const colony = await newColony({ agents: { maxAgents: 3 } });
      const spawned = recordEvents(colony, ['agent.spawned']);
      const first = await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_1');
      expect(first?.type).toBe('probe-solo'); // fewest extra capabilities among types with probe-x
      const second = await colony.agents.acquire({ capabilities: ['probe-x', 'probe-y'] }, 'tsk_2');
      expect(second?.type).toBe('probe-pair');
      const third = await colony.agents.acquire({ agentType: 'probe-other' }, 'tsk_3');
      expect(third?.type).toBe('probe-other');
      await colony.events.flush();
      expect(spawned.map((e) => (e.data as { type: string }).type)).toEqual(['probe-solo', 'probe-pair', 'probe-other']);
      expect(await colony.store.agents.count({})).toBe(3);

      // The pair agent has a second slot; the solo one is full and the pool is full.
      expect((await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_4'))?.id).toBe(second?.id);
      expect(await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_5')).toBeUndefined();
      expect(await colony.store.agents.count({})).toBe(3);
    });

    it('returns undefined when no type has the capability', async () => {
      const colony = await newColony();
      expect(await colony.agents.acquire({ capabilities: ['no-such-capability'] }, 'tsk_1')).toBeUndefined();
      expect(await colony.agents.acquire({ agentType: 'no-such-type' }, 'tsk_2')).toBeUndefined();
      expect(await colony.store.agents.count({})).toBe(0);
    });

    it('never gives the last slot to two concurrent tasks', async () => {
      const colony = await newColony({ agents: { maxAgents: 1 } });
      await colony.agents.spawn({ type: 'probe-solo' });
      const results = await Promise.all(['tsk_1', 'tsk_2', 'tsk_3'].map((t) => colony.agents.acquire({ capabilities: ['probe-x'] }, t)));
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect((await colony.store.agents.list({}))[0]?.currentTasks).toHaveLength(1);
    });

    it('release returns the slot and records the outcome', async () => {
      const colony = await newColony({ agents: { maxAgents: 1 } });
      const released = recordEvents(colony, ['agent.released']);
      const agent = (await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_1')) as AgentRecord;
      expect(await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_2')).toBeUndefined();

      await colony.agents.release(agent.id, 'tsk_1', { success: true, durationMs: 120 });
      expect(await colony.store.agents.get(agent.id)).toMatchObject({ status: 'idle', currentTasks: [], health: 'healthy' });
      expect((await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_2'))?.id).toBe(agent.id);
      await colony.agents.release(agent.id, 'tsk_2', { success: false, durationMs: 50 });

      const records = await colony.store.metrics.agentTrackRecords([agent.id]);
      expect(records.get(agent.id)).toEqual({ tasksCompleted: 1, tasksFailed: 1, meanDurationMs: 120 });
      const metrics = await colony.store.metrics.list({ entityType: 'agent', entityId: agent.id });
      expect(metrics.map((m) => [m.name, m.metadata])).toEqual([
        ['task.completed', { taskId: 'tsk_1' }],
        ['task.failed', { taskId: 'tsk_2' }],
      ]);
      // The manager's own view agrees with the store.
      expect((await colony.agents.health(agent.id)).trackRecord).toEqual({ tasksCompleted: 1, tasksFailed: 1, meanDurationMs: 120 });
      await colony.events.flush();
      expect(released.map((e) => e.data)).toEqual([
        { agentId: agent.id, taskId: 'tsk_1', success: true },
        { agentId: agent.id, taskId: 'tsk_2', success: false },
      ]);
    });

    it('release of a terminated agent still records the outcome', async () => {
      const colony = await newColony();
      const agent = (await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_1')) as AgentRecord;
      await colony.agents.terminate(agent.id);
      await colony.agents.release(agent.id, 'tsk_1', { success: false, durationMs: 5 });
      expect((await colony.store.metrics.agentTrackRecords([agent.id])).get(agent.id)?.tasksFailed).toBe(1);
      expect((await colony.store.agents.get(agent.id))?.status).toBe('terminated');
    });

    it('marks an agent degraded, then unhealthy, after consecutive failures; unhealthy agents are not selected', async () => {
      expect(HEALTH_THRESHOLDS).toEqual({ degraded: 3, unhealthy: 5 });
      const colony = await newColony();
      const agent = await colony.agents.spawn({ type: 'probe-solo' });
      const fail = async (task: string) => {
        expect((await colony.agents.acquire({ capabilities: ['probe-x'] }, task))?.id).toBe(agent.id);
        await colony.agents.release(agent.id, task, { success: false, durationMs: 1 });
        return (await colony.store.agents.get(agent.id))?.health;
      };
      expect(await fail('tsk_1')).toBe('healthy');
      expect(await fail('tsk_2')).toBe('healthy');
      expect(await fail('tsk_3')).toBe('degraded');
      // A success resets the streak.
      await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_ok');
      await colony.agents.release(agent.id, 'tsk_ok', { success: true, durationMs: 1 });
      expect((await colony.store.agents.get(agent.id))?.health).toBe('healthy');

      for (let i = 1; i <= 4; i++) await fail(`tsk_f${i}`);
      expect((await colony.store.agents.get(agent.id))?.health).toBe('degraded');
      expect(await fail('tsk_f5')).toBe('unhealthy');

      // Idle, with the capability, but unhealthy: a new agent is spawned instead.
      const next = await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_next');
      expect(next).toBeDefined();
      expect(next?.id).not.toBe(agent.id);
      expect((await colony.store.agents.get(agent.id))?.currentTasks).toEqual([]);
    });

    it('returns undefined rather than use an unhealthy agent when the pool is full', async () => {
      const colony = await newColony({ agents: { maxAgents: 1 } });
      const agent = await colony.agents.spawn({ type: 'probe-solo' });
      for (let i = 0; i < HEALTH_THRESHOLDS.unhealthy; i++) {
        await colony.agents.acquire({ capabilities: ['probe-x'] }, `tsk_${i}`);
        await colony.agents.release(agent.id, `tsk_${i}`, { success: false, durationMs: 1 });
      }
      expect((await colony.store.agents.get(agent.id))?.health).toBe('unhealthy');
      expect(await colony.agents.acquire({ capabilities: ['probe-x'] }, 'tsk_last')).toBeUndefined();
    });
  });
});

describe('agent-selector', () => {
  const T = 1_750_000_000_000;
  function agent(id: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
    return {
      id,
      name: id,
      type: 'coder',
      status: 'idle',
      health: 'healthy',
      capabilities: ['code'],
      config: {},
      currentTasks: [],
      maxConcurrency: 2,
      createdAt: T,
      updatedAt: T,
      terminatedAt: null,
      ...overrides,
    };
  }
  const record = (tasksCompleted: number, tasksFailed: number, meanDurationMs: number | null = null): AgentTrackRecord => ({
    tasksCompleted,
    tasksFailed,
    meanDurationMs,
  });

  it('scores a new agent at the smoothed success rate of one half', () => {
    expect(scoreAgent(agent('a'), undefined, 0)).toBeCloseTo(0.5);
    expect(scoreAgent(agent('a'), record(0, 0), 0)).toBeCloseTo(0.5);
  });

  it('scores success with Laplace smoothing, less load and relative latency', () => {
    expect(scoreAgent(agent('a'), record(9, 0), 0)).toBeCloseTo(10 / 11);
    expect(scoreAgent(agent('a'), record(0, 9), 0)).toBeCloseTo(1 / 11);
    expect(scoreAgent(agent('a', { currentTasks: ['t'] }), undefined, 0)).toBeCloseTo(0.5 - SELECTION_WEIGHTS.load * 0.5);
    expect(scoreAgent(agent('a'), record(1, 0, 100), 200)).toBeCloseTo(2 / 3 - SELECTION_WEIGHTS.latency * 0.5);
    expect(scoreAgent(agent('a'), record(1, 0, 200), 200)).toBeLessThan(scoreAgent(agent('a'), record(1, 0, 100), 200));
  });

  it('checks capabilities and agent type', () => {
    const a = agent('a', { capabilities: ['code', 'test'], type: 'tester' });
    expect(satisfies(a, {})).toBe(true);
    expect(satisfies(a, { capabilities: ['code', 'test'] })).toBe(true);
    expect(satisfies(a, { capabilities: ['code', 'security'] })).toBe(false);
    expect(satisfies(a, { agentType: 'tester' })).toBe(true);
    expect(satisfies(a, { agentType: 'coder', capabilities: ['code'] })).toBe(false);
  });

  it('sees capacity only in idle or busy, not unhealthy, not full agents', () => {
    expect(hasCapacity(agent('a'))).toBe(true);
    expect(hasCapacity(agent('a', { status: 'busy', currentTasks: ['t'] }))).toBe(true);
    expect(hasCapacity(agent('a', { status: 'busy', currentTasks: ['t', 'u'] }))).toBe(false);
    expect(hasCapacity(agent('a', { status: 'paused' }))).toBe(false);
    expect(hasCapacity(agent('a', { status: 'error' }))).toBe(false);
    expect(hasCapacity(agent('a', { status: 'terminated' }))).toBe(false);
    expect(hasCapacity(agent('a', { health: 'degraded' }))).toBe(true);
    expect(hasCapacity(agent('a', { health: 'unhealthy' }))).toBe(false);
  });

  it('selects by capability, capacity, load, track record and speed', () => {
    const none = new Map<string, AgentTrackRecord>();
    expect(selectAgent([], {}, none)).toBeUndefined();

    // Capability beats everything.
    const able = agent('able', { capabilities: ['code', 'security'], currentTasks: ['t'] });
    const unable = agent('unable');
    expect(selectAgent([unable, able], { capabilities: ['security'] }, none)?.id).toBe('able');
    expect(selectAgent([unable], { capabilities: ['security'] }, none)).toBeUndefined();

    // Load: the emptier agent.
    const busy = agent('busy', { status: 'busy', currentTasks: ['t'] });
    const idle = agent('idle');
    expect(selectAgent([busy, idle], {}, none)?.id).toBe('idle');

    // Track record: the successful agent, even spawned later.
    const bad = agent('bad');
    const good = agent('good');
    const records = new Map([
      ['bad', record(0, 9)],
      ['good', record(9, 0)],
    ]);
    expect(selectAgent([bad, good], {}, records)?.id).toBe('good');
    // Success outweighs a half load.
    expect(selectAgent([idle, agent('good', { status: 'busy', currentTasks: ['t'] })], {}, records)?.id).toBe('good');

    // Speed: equal success, the faster agent.
    const speed = new Map([
      ['slow', record(5, 0, 1_000)],
      ['fast', record(5, 0, 100)],
    ]);
    expect(selectAgent([agent('slow'), agent('fast')], {}, speed)?.id).toBe('fast');

    // Never a full, paused or unhealthy agent, whatever its record.
    const stars = new Map([['star', record(100, 0, 1)]]);
    expect(selectAgent([agent('star', { health: 'unhealthy' }), agent('plain')], {}, stars)?.id).toBe('plain');
    expect(selectAgent([agent('star', { status: 'paused' }), agent('plain')], {}, stars)?.id).toBe('plain');
    expect(selectAgent([agent('star', { currentTasks: ['a', 'b'], status: 'busy' })], {}, stars)).toBeUndefined();
  });
});
