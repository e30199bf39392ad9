import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';
import { holdWhere } from './support/held-reply.js';
import { swarmModel } from './support/swarm-model.js';
import { eventually } from './support/temp-colony.js';

/**
 * Swarms over REST, in the server's started colony, against a fake LLM server: create, watch the
 * events on the WebSocket stream filtered by the swarm id, read the status report, and control it.
 */

interface StreamEvent {
  id: number;
  type: string;
  correlationId: string | null;
  data: Record<string, unknown>;
}

const HOLD = 'HOLD-THIS-TASK';
let api: TestApi;
let llm: FakeLlmServer;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  llm = new FakeLlmServer({ defaultReply: holdWhere(swarmModel(), HOLD) });
  const { anthropicBaseUrl } = await llm.start();
  api = await startApi(
    {
      providers: { anthropic: { baseUrl: anthropicBaseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
      agents: { defaultProvider: 'anthropic' },
      tasks: { defaultMaxRetries: 0, pollIntervalMs: 20 },
    },
    { startEngine: true, eventStream: { pollMs: 20 } },
  );
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await api?.close();
  await llm?.close();
});

/** A WebSocket subscribed to one swarm's events, replayed from the start of the log. */
function watch(swarmId: string): { events: StreamEvent[]; subscribed: Promise<void> } {
  const ws = new WebSocket(`${api.address.events}?correlationId=${swarmId}&lastEventId=0`);
  sockets.push(ws);
  const events: StreamEvent[] = [];
  const subscribed = new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; event?: StreamEvent };
      if (message.type === 'subscribed') resolve();
      if (message.type === 'event' && message.event) events.push(message.event);
    });
  });
  return { events, subscribed };
}

const plan = (second = 'Write one sentence from the facts.') => ({
  summary: 'Facts, then a sentence.',
  tasks: [
    { id: 'facts', title: 'Collect facts', prompt: 'List three facts about bees.' },
    { id: 'sentence', title: 'Write a sentence', prompt: second, dependsOn: ['facts'] },
  ],
});

describe('REST swarms', () => {
  it('creates a swarm that runs in the server, with its events on the stream', async () => {
    const created = await api.request('POST', '/api/v2/swarms', { body: { objective: 'Tell me about bees', name: 'bees', review: false, plan: plan() } });
    expect(created.status, created.text).toBe(201);
    const swarm = created.json;
    expect(swarm).toMatchObject({ name: 'bees', topology: 'centralized', objective: 'Tell me about bees' });
    expect(created.headers.get('location')).toBe(`/api/v2/swarms/${swarm.id}`);

    const stream = watch(swarm.id);
    await stream.subscribed;
    await eventually(() => stream.events.some((e) => e.type === 'swarm.finished'), 20_000);
    expect(stream.events.every((e) => e.correlationId === swarm.id)).toBe(true);
    const types = stream.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['swarm.created', 'swarm.planned', 'swarm.task_dispatched', 'task.completed', 'swarm.finished']));
    expect(types.indexOf('swarm.created')).toBeLessThan(types.indexOf('swarm.planned'));
    expect(stream.events.filter((e) => e.type === 'swarm.task_dispatched').map((e) => e.data.planTaskId)).toEqual(['facts', 'sentence']);
    expect(stream.events.find((e) => e.type === 'swarm.finished')?.data).toMatchObject({ status: 'completed', partial: false });

    const got = await api.request('GET', `/api/v2/swarms/${swarm.id.slice(0, 14)}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: swarm.id, status: 'completed', progress: 1 });
    expect(got.json.result.tasks).toHaveLength(2);

    const status = await api.request('GET', `/api/v2/swarms/${swarm.id}/status`);
    expect(status.status).toBe(200);
    expect(status.json.swarm.id).toBe(swarm.id);
    expect(status.json.counts.completed).toBe(2);
    expect(status.json.tasks.map((t: { planTaskId: string; status: string }) => [t.planTaskId, t.status])).toEqual([
      ['facts', 'completed'],
      ['sentence', 'completed'],
    ]);
    expect(status.json.agents.length).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(status.json.proposals)).toBe(true);

    const list = await api.request('GET', '/api/v2/swarms?status=completed&topology=centralized&limit=10');
    expect(list.status).toBe(200);
    expect(list.json.items.map((s: { id: string }) => s.id)).toContain(swarm.id);
    expect(list.headers.get('x-total-count')).toBe(String(list.json.total));
    expect((await api.request('GET', '/api/v2/swarms?topology=mesh')).json).toMatchObject({ items: [], total: 0 });

    // A finished swarm cannot be paused: 409.
    expectProblem(await api.request('POST', `/api/v2/swarms/${swarm.id}/control`, { body: { action: 'pause' } }), 409, 'conflict');
  });

  it('pauses, resumes and stops a running swarm; the stream shows each change', async () => {
    const created = await api.request('POST', '/api/v2/swarms', { body: { objective: 'Slow bees', review: false, plan: plan(`Take your time. ${HOLD}`) } });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as string;
    const stream = watch(id);
    await stream.subscribed;
    await eventually(() => stream.events.some((e) => e.type === 'swarm.task_dispatched' && e.data.planTaskId === 'sentence'), 20_000);
    // The held task is running: its agent has asked the model.
    await eventually(() => llm.requests.some((r) => JSON.stringify(r.body).includes(HOLD)), 20_000);

    const paused = await api.request('POST', `/api/v2/swarms/${id}/control`, { body: { action: 'pause' } });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.json.status).toBe('paused');
    const resumed = await api.request('POST', `/api/v2/swarms/${id}/control`, { body: { action: 'resume' } });
    expect(resumed.json.status).toBe('running');
    const stopped = await api.request('POST', `/api/v2/swarms/${id}/control`, { body: { action: 'stop', reason: 'test over' } });
    expect(stopped.status, stopped.text).toBe(200);
    expect(stopped.json.status).toBe('stopped');

    await eventually(() => stream.events.some((e) => e.type === 'swarm.finished'), 20_000);
    const changes = stream.events.filter((e) => e.type === 'swarm.status_changed').map((e) => e.data.status);
    expect(changes).toEqual(expect.arrayContaining(['paused', 'running', 'stopped']));
    expect(stream.events.find((e) => e.type === 'swarm.finished')?.data).toMatchObject({ status: 'stopped', partial: true });

    const status = (await api.request('GET', `/api/v2/swarms/${id}/status`)).json;
    expect(status.swarm.result.partial).toBe(true);
    expect(status.tasks.find((t: { planTaskId: string }) => t.planTaskId === 'facts').status).toBe('completed');
    expect(status.tasks.find((t: { planTaskId: string }) => t.planTaskId === 'sentence').status).not.toBe('completed');
  });

  it('documents the swarm routes in the OpenAPI document', async () => {
    const spec = (await api.request('GET', '/api/v2/openapi.json')).json as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v2/swarms', '/api/v2/swarms/{id}', '/api/v2/swarms/{id}/status', '/api/v2/swarms/{id}/control']));
    const body = JSON.stringify(spec.paths['/api/v2/swarms']?.post?.requestBody);
    expect(body).toContain('objective');
    expect(body).toContain('hierarchical');
  });
});
