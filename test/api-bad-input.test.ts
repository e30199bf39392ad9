import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EPOCH_MS } from '../src/domain/bounds.js';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';
import { insertLegacyMemoryRow, storedExpiry, unreadableExpiry } from './support/legacy-memory-row.js';

/**
 * Bad input of every kind gets a 4xx problem document naming what was wrong, changes nothing, and
 * never a 5xx: malformed JSON, wrong types, unknown fields, huge bodies, invalid ids, and injection
 * strings in ids and filters.
 */
describe('REST API: bad input', () => {
  let api: TestApi;
  let taskId: string;
  let agentId: string;

  const SQL = "'; DROP TABLE tasks; --";
  const PATH = '../../etc/passwd';
  const enc = encodeURIComponent;

  beforeAll(async () => {
    api = await startApi();
    api.colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.input });
    taskId = (await api.request('POST', '/api/v2/tasks', { body: { type: 'echo', name: 'keep' } })).json.id;
    await (await api.colony.memory()).store('default', 'keep', { kept: true });
    agentId = (await api.request('POST', '/api/v2/agents', { body: { type: 'coder' } })).json.id;
  });

  afterAll(async () => {
    await api.close();
  });

  interface Case {
    name: string;
    method: string;
    path: () => string;
    body?: unknown;
    raw?: string | Buffer;
    headers?: Record<string, string>;
    status: number;
    code?: string;
    /** A fragment the problem's detail must contain (what was wrong). */
    detail?: RegExp;
  }

  const cases: Case[] = [
    // Malformed JSON
    { name: 'malformed JSON creating a task', method: 'POST', path: () => '/api/v2/tasks', raw: '{"type": "echo",', status: 400, code: 'validation', detail: /malformed JSON/ },
    { name: 'malformed JSON spawning an agent', method: 'POST', path: () => '/api/v2/agents', raw: "{type: 'coder'}", status: 400, detail: /malformed JSON/ },
    { name: 'malformed JSON updating a task', method: 'PUT', path: () => `/api/v2/tasks/${taskId}`, raw: '{"action":', status: 400 },
    { name: 'an empty JSON body', method: 'POST', path: () => '/api/v2/agents', raw: '', status: 400 },
    { name: 'a JSON array where an object belongs', method: 'POST', path: () => '/api/v2/agents', body: [{ type: 'coder' }], status: 400, detail: /body/ },
    { name: 'JSON null as a task', method: 'POST', path: () => '/api/v2/tasks', raw: 'null', status: 400 },
    { name: 'prototype poisoning', method: 'POST', path: () => '/api/v2/agents', raw: '{"type":"coder","__proto__":{"admin":true}}', status: 400 },
    { name: 'a text/plain body', method: 'POST', path: () => '/api/v2/tasks', raw: 'type=echo', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
    { name: 'a form body', method: 'POST', path: () => '/api/v2/agents', raw: 'type=coder', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },

    // Wrong types
    { name: 'a number as an agent type', method: 'POST', path: () => '/api/v2/agents', body: { type: 5 }, status: 400, detail: /body\.type/ },
    { name: 'an unknown priority', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', priority: 'urgent' }, status: 400, detail: /priority/ },
    { name: 'a string as retries', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', maxRetries: 'three' }, status: 400, detail: /maxRetries/ },
    { name: 'an unknown task type', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'nonesuch' }, status: 400, detail: /unknown task type/ },
    { name: 'a bad duration', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', timeoutMs: '5 fortnights' }, status: 400 },
    { name: 'an unknown action', method: 'PUT', path: () => `/api/v2/tasks/${taskId}`, body: { action: 'explode' }, status: 400, detail: /action/ },
    { name: 'an agent status that is not pause/resume', method: 'PUT', path: () => `/api/v2/agents/${agentId}`, body: { status: 'terminated' }, status: 400, detail: /status/ },
    { name: 'a tasks batch that is not an array', method: 'POST', path: () => '/api/v2/tasks', body: { tasks: { type: 'echo' } }, status: 400, detail: /tasks/ },
    { name: 'an empty tasks batch', method: 'POST', path: () => '/api/v2/tasks', body: { tasks: [] }, status: 400 },
    { name: 'a negative limit', method: 'GET', path: () => '/api/v2/tasks?limit=-1', status: 400, detail: /query\.limit/ },
    { name: 'a non-numeric limit', method: 'GET', path: () => '/api/v2/tasks?limit=abc', status: 400, detail: /query\.limit/ },
    { name: 'a limit past the maximum', method: 'GET', path: () => '/api/v2/agents?limit=100000', status: 400 },
    { name: 'a fractional offset', method: 'GET', path: () => '/api/v2/tasks?offset=1.5', status: 400 },
    { name: 'an unknown status filter', method: 'GET', path: () => '/api/v2/tasks?status=queued,exploded', status: 400, detail: /status/ },
    { name: 'an unknown sort', method: 'GET', path: () => '/api/v2/tasks?sort=name', status: 400, detail: /sort/ },
    { name: 'a non-numeric afterId', method: 'GET', path: () => '/api/v2/events?afterId=last', status: 400 },
    { name: 'a provider test with a numeric model', method: 'POST', path: () => '/api/v2/providers/openai/test', body: { model: 42 }, status: 400 },
    { name: 'a key with an unknown role', method: 'POST', path: () => '/api/v2/keys', body: { role: 'root' }, status: 400, detail: /role/ },

    // Unknown fields
    { name: 'an unknown field spawning an agent', method: 'POST', path: () => '/api/v2/agents', body: { type: 'coder', admin: true }, status: 400, detail: /unknown field "admin"/ },
    { name: 'an unknown field in a task', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', command: 'rm -rf /' }, status: 400, detail: /command/ },
    { name: 'an unknown field in a batch', method: 'POST', path: () => '/api/v2/tasks', body: { tasks: [{ type: 'echo' }], atomic: false }, status: 400, detail: /atomic/ },
    { name: 'an unknown field updating an agent', method: 'PUT', path: () => `/api/v2/agents/${agentId}`, body: { status: 'paused', name: 'x' }, status: 400, detail: /name/ },
    { name: 'an unknown field updating a task', method: 'PUT', path: () => `/api/v2/tasks/${taskId}`, body: { action: 'cancel', priority: 5 }, status: 400 },
    { name: 'an unknown query parameter', method: 'GET', path: () => '/api/v2/tasks?colour=red', status: 400, detail: /colour/ },
    { name: 'a body on diagnostics', method: 'POST', path: () => '/api/v2/system/diagnostics', body: { deep: true }, status: 400 },

    // Invalid ids
    { name: 'an id with punctuation', method: 'GET', path: () => '/api/v2/tasks/not-an-id!', status: 400, detail: /path\.id/ },
    { name: 'an id with a NUL byte', method: 'GET', path: () => '/api/v2/agents/agt%00x', status: 400 },
    { name: 'an overlong id', method: 'GET', path: () => `/api/v2/tasks/${'a'.repeat(80)}`, status: 400 },
    { name: 'an unknown task id', method: 'GET', path: () => '/api/v2/tasks/tsk_nothing_here', status: 404, code: 'not_found' },
    { name: 'an unknown agent id', method: 'PUT', path: () => '/api/v2/agents/agt_nothing_here', body: { status: 'paused' }, status: 404 },
    { name: 'a too-short id prefix', method: 'GET', path: () => '/api/v2/tasks/tsk', status: 404 },
    { name: 'an unknown API key id', method: 'DELETE', path: () => '/api/v2/keys/0123456789ab', status: 404 },
    { name: 'a malformed API key id', method: 'DELETE', path: () => '/api/v2/keys/xyz', status: 400 },
    { name: 'an unknown provider', method: 'POST', path: () => '/api/v2/providers/skynet/test', status: 404 },

    // Injection strings in ids and filters
    { name: 'SQL in a task id', method: 'GET', path: () => `/api/v2/tasks/${enc(SQL)}`, status: 400 },
    { name: 'SQL in an agent id (DELETE)', method: 'DELETE', path: () => `/api/v2/agents/${enc(SQL)}`, status: 400 },
    { name: 'a path traversal in a task id', method: 'GET', path: () => `/api/v2/tasks/${enc(PATH)}`, status: 400 },
    { name: 'a path traversal in a transcript id', method: 'GET', path: () => `/api/v2/tasks/${enc(PATH)}/transcript`, status: 400 },
    { name: 'SQL in a type filter', method: 'GET', path: () => `/api/v2/tasks?type=${enc(SQL)}`, status: 400 },
    { name: 'SQL in a status filter', method: 'GET', path: () => `/api/v2/tasks?status=${enc(SQL)}`, status: 400 },
    { name: 'a path traversal in a workflow filter', method: 'GET', path: () => `/api/v2/tasks?workflowId=${enc(PATH)}`, status: 400 },
    { name: 'SQL in an agent type filter', method: 'GET', path: () => `/api/v2/agents?type=${enc(SQL)}`, status: 400 },
    { name: 'SQL in an event type filter', method: 'GET', path: () => `/api/v2/events?types=${enc(`task.*${SQL}`)}`, status: 400 },
    { name: 'a path traversal in a correlation filter', method: 'GET', path: () => `/api/v2/events?correlationId=${enc(PATH)}`, status: 400 },
    { name: 'SQL as a dependency', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', dependencies: [SQL] }, status: 400, detail: /unknown/ },
    { name: 'SQL as a parent', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', parentId: SQL }, status: 400 },
    { name: 'SQL as a task name', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', name: SQL }, status: 400, detail: /name/ },
    { name: 'a path traversal as an agent type', method: 'POST', path: () => '/api/v2/agents', body: { type: PATH }, status: 400 },
    { name: 'SQL as an agent name', method: 'POST', path: () => '/api/v2/agents', body: { type: 'coder', name: SQL }, status: 400, detail: /name/ },
    { name: 'SQL as a provider id', method: 'POST', path: () => `/api/v2/providers/${enc(SQL)}/test`, status: 400 },

    // Swarms: the shared swarm spec, and the plan's graph as the coordinator checks it
    { name: 'an unknown swarm topology', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', topology: 'ring' }, status: 400, detail: /body\.topology: unknown topology "ring"/ },
    { name: 'an empty swarm objective', method: 'POST', path: () => '/api/v2/swarms', body: { objective: '   ' }, status: 400, detail: /objective/ },
    { name: 'a swarm without an objective', method: 'POST', path: () => '/api/v2/swarms', body: { topology: 'mesh' }, status: 400, detail: /objective/ },
    { name: 'a huge swarm objective', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x'.repeat(20_001) }, status: 400, detail: /objective/ },
    { name: 'an unknown field in a swarm', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', queen: 'me' }, status: 400, detail: /unknown field "queen"/ },
    { name: 'an unknown field in a swarm plan task', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', plan: { tasks: [{ id: 'a', title: 'A', prompt: 'p', run: 'rm -rf /' }] } }, status: 400, detail: /run/ },
    { name: 'a swarm plan with no tasks', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', plan: { tasks: [] } }, status: 400, detail: /plan\.tasks/ },
    {
      name: 'a swarm plan with a cycle',
      method: 'POST',
      path: () => '/api/v2/swarms',
      body: { objective: 'x', plan: { tasks: [{ id: 'a', title: 'A', prompt: 'p', dependsOn: ['b'] }, { id: 'b', title: 'B', prompt: 'p', dependsOn: ['a'] }] } },
      status: 400,
      detail: /cycle/,
    },
    {
      name: 'a swarm plan with an unknown dependency',
      method: 'POST',
      path: () => '/api/v2/swarms',
      body: { objective: 'x', plan: { tasks: [{ id: 'a', title: 'A', prompt: 'p', dependsOn: ['nowhere'] }] } },
      status: 400,
      detail: /nowhere/,
    },
    { name: 'pools outside the distributed topology', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', pools: { eu: 2 } }, status: 400, detail: /pools/ },
    { name: 'both agents and a roster', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', agents: 2, roster: [{ type: 'coder', count: 1 }] }, status: 400, detail: /roster/ },
    { name: 'a bad swarm deadline', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', deadline: 'tomorrow' }, status: 400, detail: /deadline/ },
    { name: 'a swarm as an array', method: 'POST', path: () => '/api/v2/swarms', body: [{ objective: 'x' }], status: 400 },
    { name: 'an unknown swarm status filter', method: 'GET', path: () => '/api/v2/swarms?status=running,exploded', status: 400, detail: /status/ },
    { name: 'an unknown swarm topology filter', method: 'GET', path: () => '/api/v2/swarms?topology=ring', status: 400, detail: /topology/ },
    { name: 'an unknown swarm control action', method: 'POST', path: () => '/api/v2/swarms/swm_nothing_here/control', body: { action: 'explode' }, status: 400, detail: /action/ },
    { name: 'an unknown field in a swarm control', method: 'POST', path: () => '/api/v2/swarms/swm_nothing_here/control', body: { action: 'stop', force: true }, status: 400, detail: /force/ },
    { name: 'an unknown swarm id', method: 'GET', path: () => '/api/v2/swarms/swm_nothing_here', status: 404, code: 'not_found' },
    { name: 'an unknown swarm id (control)', method: 'POST', path: () => '/api/v2/swarms/swm_nothing_here/control', body: { action: 'pause' }, status: 404 },
    { name: 'SQL in a swarm id', method: 'GET', path: () => `/api/v2/swarms/${enc(SQL)}/status`, status: 400 },

    // Memory: wrong types, unknown fields, invalid namespaces and keys
    { name: 'a memory entry without a value', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k' }, status: 400, detail: /value/ },
    { name: 'a memory entry without a key', method: 'POST', path: () => '/api/v2/memory', body: { value: 1 }, status: 400, detail: /body\.key/ },
    { name: 'a number as a memory key', method: 'POST', path: () => '/api/v2/memory', body: { key: 42, value: 1 }, status: 400, detail: /body\.key/ },
    { name: 'an empty memory key', method: 'POST', path: () => '/api/v2/memory', body: { key: '', value: 1 }, status: 400, detail: /key must not be empty/ },
    { name: 'a control character in a memory key', method: 'POST', path: () => '/api/v2/memory', body: { key: 'a\u0007b', value: 1 }, status: 400, detail: /control characters/ },
    { name: 'an overlong memory key', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k'.repeat(513), value: 1 }, status: 400, detail: /over the limit of 512/ },
    { name: 'an upper-case namespace', method: 'POST', path: () => '/api/v2/memory', body: { namespace: 'Notes', key: 'k', value: 1 }, status: 400, detail: /body\.namespace/ },
    { name: 'a namespace with a slash', method: 'POST', path: () => '/api/v2/memory', body: { namespace: 'a/b', key: 'k', value: 1 }, status: 400, detail: /namespace/ },
    { name: 'a path traversal as a namespace', method: 'GET', path: () => `/api/v2/memory/k?namespace=${enc(PATH)}`, status: 400, detail: /query\.namespace/ },
    { name: 'SQL as a namespace filter', method: 'GET', path: () => `/api/v2/memory?namespace=${enc(SQL)}`, status: 400, detail: /query\.namespace/ },
    { name: 'an unknown field storing memory', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k', value: 1, owner: 'me' }, status: 400, detail: /unknown field "owner"/ },
    { name: 'a key in the body of a PUT', method: 'PUT', path: () => '/api/v2/memory/k', body: { key: 'other', value: 1 }, status: 400, detail: /unknown field "key"/ },
    { name: 'a bad ttl duration', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k', value: 1, ttl: '5 fortnights' }, status: 400, detail: /duration/ },
    { name: 'a negative ttl', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k', value: 1, ttl: -5 }, status: 400, detail: /ttl/ },
    { name: 'tags that are not an array', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k', value: 1, tags: 'a,b' }, status: 400, detail: /tags/ },
    { name: 'metadata that is an array', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k', value: 1, metadata: [1] }, status: 400, detail: /metadata/ },
    { name: 'a zero expectedVersion', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k', value: 1, expectedVersion: 0 }, status: 400, detail: /expectedVersion/ },
    { name: 'a string expectedVersion on PUT', method: 'PUT', path: () => '/api/v2/memory/k', body: { value: 1, expectedVersion: 'latest' }, status: 400, detail: /expectedVersion/ },
    { name: 'a non-numeric expectedVersion on DELETE', method: 'DELETE', path: () => '/api/v2/memory/k?expectedVersion=abc', status: 400, detail: /expectedVersion/ },
    { name: 'a control character in a key path', method: 'GET', path: () => '/api/v2/memory/a%01b', status: 400, detail: /control characters/ },
    { name: 'an overlong key path', method: 'DELETE', path: () => `/api/v2/memory/${'k'.repeat(600)}`, status: 400, detail: /over the limit/ },
    { name: 'a search mode without a search', method: 'GET', path: () => '/api/v2/memory?mode=vector', status: 400, detail: /mode/ },
    { name: 'an unknown search mode', method: 'GET', path: () => '/api/v2/memory?q=x&mode=fuzzy', status: 400, detail: /mode/ },
    { name: 'a prefix with a search', method: 'GET', path: () => '/api/v2/memory?q=x&prefix=a', status: 400, detail: /prefix/ },
    { name: 'a search past the result cap', method: 'GET', path: () => '/api/v2/memory?q=x&offset=990&limit=50', status: 400, detail: /offset/ },
    { name: 'an unknown memory query parameter', method: 'GET', path: () => '/api/v2/memory?colour=red', status: 400, detail: /colour/ },
    { name: 'an empty tag filter', method: 'GET', path: () => '/api/v2/memory?tags=,', status: 400, detail: /tags/ },
    { name: 'a memory key that does not exist', method: 'GET', path: () => '/api/v2/memory/nothing-here', status: 404, code: 'not_found' },
    { name: 'SQL as a memory key (a valid key, not found)', method: 'GET', path: () => `/api/v2/memory/${enc(SQL)}`, status: 404, code: 'not_found' },
    { name: 'deleting a memory key that does not exist', method: 'DELETE', path: () => `/api/v2/memory/${enc(PATH)}`, status: 404, code: 'not_found' },
    { name: 'malformed JSON storing memory', method: 'POST', path: () => '/api/v2/memory', raw: '{"key":"k","value":', status: 400, detail: /malformed JSON/ },
    { name: 'a stale expectedVersion', method: 'PUT', path: () => '/api/v2/memory/keep', body: { value: 'overwritten', expectedVersion: 7 }, status: 409, code: 'conflict' },

    // Consensus: the schema colony.consensus, the CLI and MCP share; nothing is stored or spawned
    { name: 'malformed JSON asking for a vote', method: 'POST', path: () => '/api/v2/consensus', raw: '{"question": "ship?"', status: 400, detail: /malformed JSON/ },
    { name: 'a vote without a question', method: 'POST', path: () => '/api/v2/consensus', body: { options: ['a', 'b'] }, status: 400, detail: /body\.question/ },
    { name: 'an empty question', method: 'POST', path: () => '/api/v2/consensus', body: { question: '   ' }, status: 400, detail: /body\.question: must not be empty/ },
    { name: 'a single option', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', options: ['yes'] }, status: 400, detail: /body\.options: at least 2 options/ },
    { name: 'repeated options', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', options: ['a', 'a'] }, status: 400, detail: /body\.options: options must be distinct/ },
    { name: 'an unknown strategy', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', strategy: 'dictator' }, status: 400, detail: /body\.strategy: unknown strategy "dictator"/ },
    { name: 'a threshold above 1', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', threshold: 67 }, status: 400, detail: /body\.threshold/ },
    { name: 'a quorum of 0', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', quorum: 0 }, status: 400, detail: /body\.quorum/ },
    { name: 'a bad vote timeout', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', timeout: 'soon' }, status: 400, detail: /body\.timeout: invalid duration "soon"/ },
    { name: 'rounds for a single-round strategy', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', strategy: 'majority', maxRounds: 3 }, status: 400, detail: /body\.maxRounds/ },
    { name: 'too many spawned voters', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', voters: 500 }, status: 400, detail: /body\.voters: at most 50/ },
    { name: 'agents and a voter count', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', agentIds: ['agt_x'], voters: 2 }, status: 400, detail: /body\.agentIds: give either/ },
    { name: 'an unknown field in a vote', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', admin: true }, status: 400, detail: /unknown field "admin"/ },
    { name: 'a non-boolean wait', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', wait: 'yes' }, status: 400, detail: /body\.wait/ },
    { name: 'an unknown voter agent type', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', agentType: 'wizard' }, status: 400, detail: /unknown agent type "wizard"/ },
    { name: 'a path traversal as a voter agent type', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', agentType: PATH }, status: 400, detail: /body\.agentType/ },
    { name: 'an unknown voter agent', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', agentIds: ['agt_nothing_here'] }, status: 404, code: 'not_found' },
    { name: 'SQL as a voter agent id', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', agentIds: [SQL] }, status: 400, detail: /body\.agentIds\.0/ },
    { name: 'an unknown task to vote on', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', taskId: 'tsk_nothing_here' }, status: 404, detail: /task not found/ },
    { name: 'an unknown voting provider', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', provider: 'skynet' }, status: 400, detail: /body\.provider: unknown provider "skynet"/ },
    { name: 'an unknown proposal status filter', method: 'GET', path: () => '/api/v2/consensus?status=open,exploded', status: 400, detail: /status/ },
    { name: 'an unknown proposal id', method: 'GET', path: () => '/api/v2/consensus/prp_nothing_here', status: 404, code: 'not_found' },
    { name: 'SQL in a proposal id', method: 'GET', path: () => `/api/v2/consensus/${enc(SQL)}`, status: 400, detail: /path\.id/ },

    // Numbers past their bounds: TTLs, timeouts, deadlines and budgets (nothing stored)
    { name: 'a memory ttl of 1e16 ms', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k1', value: 'v', ttl: 1e16 }, status: 400, detail: /body\.ttl: ttl is 10000000000000000 ms, over the limit of 315360000000 ms \(10 years\)/ },
    { name: 'a memory ttl duration past ten years', method: 'POST', path: () => '/api/v2/memory', body: { key: 'k1', value: 'v', ttl: '100000h' }, status: 400, detail: /ttl: invalid duration "100000h": at most 315360000000 ms/ },
    { name: 'a memory ttl of 1e16 ms on PUT', method: 'PUT', path: () => '/api/v2/memory/k1', body: { value: 'v', ttl: 1e16 }, status: 400, detail: /ttl/ },
    { name: 'a task timeout past the longest timer', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', timeoutMs: '1000h' }, status: 400, detail: /timeoutMs: invalid duration "1000h": at most 2147483647 ms/ },
    { name: 'a task timeout of 1e12 ms', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', timeoutMs: 1e12 }, status: 400, detail: /timeoutMs/ },
    { name: 'a task timeout of 400 digits', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', timeoutMs: '9'.repeat(400) }, status: 400, detail: /timeoutMs/ },
    { name: 'a swarm deadline past the longest timer', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', deadline: '1000h' }, status: 400, detail: /deadline: invalid duration "1000h": at most/ },
    { name: 'a swarm budget of 1e300 dollars', method: 'POST', path: () => '/api/v2/swarms', body: { objective: 'x', maxCostUsd: 1e300 }, status: 400, detail: /maxCostUsd/ },
    { name: 'a vote timeout past its limit', method: 'POST', path: () => '/api/v2/consensus', body: { question: 'q', timeout: '1000h' }, status: 400, detail: /timeout/ },
    { name: 'an offset of 1e300', method: 'GET', path: () => '/api/v2/memory?offset=1e300', status: 400, detail: /offset/ },
    { name: 'a limit of Infinity', method: 'GET', path: () => '/api/v2/tasks?limit=Infinity', status: 400, detail: /limit/ },
    { name: 'an event id past 2^53', method: 'GET', path: () => '/api/v2/events?afterId=90071992547409930', status: 400, detail: /afterId/ },

    // Shell tasks that could never run: a cwd leaving the project, NUL bytes (nothing stored)
    { name: 'a shell cwd that climbs out of the project', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'ls', cwd: '../..' } }, status: 400, detail: /cwd: "\.\.\/\.\." leaves the project directory/ },
    { name: 'a shell cwd that climbs out after a detour', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'ls', cwd: 'src/../../x' } }, status: 400, detail: /leaves the project directory/ },
    { name: 'an absolute shell cwd outside the project', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'ls', cwd: '/etc' } }, status: 400, detail: /cwd: "\/etc" is outside the project directory/ },
    { name: 'a NUL byte in a shell command', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'echo a\u0000b' } }, status: 400, detail: /command: contains a NUL byte/ },
    { name: 'a NUL byte in a shell cwd', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'ls', cwd: 'sub\u0000dir' } }, status: 400, detail: /cwd: .*contains a NUL byte/ },
    { name: 'a NUL byte in an environment value', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'env', env: { GREETING: 'hi\u0000there' } } }, status: 400, detail: /env\.GREETING: contains a NUL byte/ },
    { name: 'an "=" in an environment name', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'env', env: { 'A=B': 'x' } } }, status: 400, detail: /environment variable name/ },
    { name: 'a NUL byte in a rollback command', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'shell', input: { command: 'ls', rollback: 'rm \u0000' } }, status: 400, detail: /rollback: contains a NUL byte/ },
    {
      name: 'a batch whose second shell task leaves the project',
      method: 'POST',
      path: () => '/api/v2/tasks',
      body: { tasks: [{ type: 'shell', name: 'fine', input: { command: 'ls' } }, { type: 'shell', name: 'escape', input: { command: 'ls', cwd: '../../..' } }] },
      status: 400,
      detail: /task escape: .*cwd: "\.\.\/\.\.\/\.\." leaves the project directory/,
    },

    // Unknown routes and methods
    { name: 'an unknown route', method: 'GET', path: () => '/api/v2/nothing', status: 404, code: 'route_not_found' },
    { name: 'an unknown API version', method: 'GET', path: () => '/api/v1/tasks', status: 404 },
    { name: 'a method the route does not have', method: 'PATCH', path: () => '/api/v2/tasks', body: {}, status: 405, code: 'method_not_allowed' },
    { name: 'a traversal outside the API', method: 'GET', path: () => '/api/v2/..%2F..%2Fetc%2Fpasswd', status: 404 },
  ];

  it.each(cases)('$name → $status', async (c) => {
    const r = await api.request(c.method, c.path(), { body: c.body, raw: c.raw, headers: c.headers });
    expectProblem(r, c.status, c.code);
    if (c.detail) expect(r.json.detail).toMatch(c.detail);
  });

  it('a huge body is refused with 413 before it is parsed', async () => {
    const huge = JSON.stringify({ type: 'echo', input: { blob: 'x'.repeat(api.colony.config.server.bodyLimitBytes + 1) } });
    const r = await api.request('POST', '/api/v2/tasks', { raw: huge });
    expectProblem(r, 413, 'payload_too_large');
  });

  it('a huge body without a length (chunked) is refused with 413 too', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const limit = api.colony.config.server.bodyLimitBytes;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > limit * 2) return controller.close();
        sent += chunk.length;
        controller.enqueue(sent === chunk.length ? Buffer.concat([Buffer.from('{"type":"echo","input":"'), chunk]) : chunk);
      },
    });
    const response = await fetch(`${api.base}/api/v2/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('a huge memory value is refused with 413', async () => {
    const r = await api.request('POST', '/api/v2/memory', { body: { key: 'huge', value: 'x'.repeat(api.colony.config.server.bodyLimitBytes + 1) } });
    expectProblem(r, 413, 'payload_too_large');
  });

  it('changed nothing: the tasks table and its one task are intact', async () => {
    const r = await api.request('GET', '/api/v2/tasks');
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(1);
    expect(r.json.items[0]).toMatchObject({ id: taskId, name: 'keep', status: 'queued' });
    const agents = await api.request('GET', '/api/v2/agents');
    expect(agents.json.items).toEqual([expect.objectContaining({ id: agentId, status: 'idle' })]);
    const memory = await api.request('GET', '/api/v2/memory');
    expect(memory.json.items).toEqual([expect.objectContaining({ namespace: 'default', key: 'keep', value: { kept: true }, version: 1 })]);
    expect((await api.request('GET', '/api/v2/swarms')).json.total).toBe(0);
    expect((await api.request('GET', '/api/v2/consensus')).json.total).toBe(0);
    expect(await api.colony.store.consensus.getVoterKeys([agentId])).toEqual(new Map());
    // And every bad request above was counted as a 4xx, none as a 5xx.
    const metrics = (await api.request('GET', '/api/v2/system/metrics')).text;
    expect(metrics).not.toMatch(/colony_http_requests_total\{[^}]*status_code="5\d\d"/);
  });
});

/**
 * A body nested a hundred thousand levels deep is 200 KB, well under the body limit: every route
 * refuses it with a 400 naming the nesting (never a 500 from a recursion running out of stack),
 * MCP's included, and writes nothing. Nesting within the limit still works.
 */
describe('REST API: deeply nested JSON bodies', () => {
  let api: TestApi;
  const LEVELS = 100_000;
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  beforeAll(async () => {
    api = await startApi();
  });

  afterAll(async () => {
    await api.close();
  });

  const routes: [method: string, path: string, wrap: (nested: string) => string][] = [
    ['POST', '/api/v2/tasks', (n) => `{"type":"shell","input":{"command":"ls","deep":${n}}}`],
    ['POST', '/api/v2/tasks', (n) => `{"tasks":${n}}`],
    ['PUT', '/api/v2/tasks/tsk_0123456789abcdefghjkmnpqrs', (n) => `{"action":${n}}`],
    ['DELETE', '/api/v2/tasks/tsk_0123456789abcdefghjkmnpqrs', (n) => n],
    ['POST', '/api/v2/tasks/tsk_0123456789abcdefghjkmnpqrs/assign', (n) => `{"agentId":${n}}`],
    ['POST', '/api/v2/agents', (n) => `{"type":"coder","capabilities":${n}}`],
    ['PUT', '/api/v2/agents/agt_0123456789abcdefghjkmnpqrs', (n) => `{"status":${n}}`],
    ['POST', '/api/v2/memory', (n) => `{"key":"deep","value":${n}}`],
    ['PUT', '/api/v2/memory/deep', (n) => `{"value":${n}}`],
    ['POST', '/api/v2/swarms', (n) => `{"objective":"x","plan":${n}}`],
    ['POST', '/api/v2/swarms/swm_0123456789abcdefghjkmnpqrs/control', (n) => `{"action":${n}}`],
    ['POST', '/api/v2/consensus', (n) => `{"question":"q","options":${n}}`],
    ['POST', '/api/v2/providers/openai/test', (n) => `{"model":${n}}`],
    ['POST', '/api/v2/system/diagnostics', (n) => n],
    ['POST', '/api/v2/keys', (n) => `{"role":${n}}`],
    ['POST', '/mcp', (n) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"memory_usage","arguments":{"action":"store","key":"deep","value":${n}}}}`],
  ];

  it.each(routes)('%s %s → 400 naming the nesting', async (method, path, wrap) => {
    const r = await api.request(method, path, { raw: wrap(deep(LEVELS)), headers: { accept: 'application/json, text/event-stream' } });
    expectProblem(r, 400, 'validation');
    expect(r.json.detail).toMatch(/^body: JSON nested more than \d+ levels deep$/);
  });

  it('a deep object inside a string is only text, and nesting within the limit is accepted', async () => {
    const inString = await api.request('POST', '/api/v2/memory', { raw: JSON.stringify({ key: 'text', value: deep(LEVELS) }) });
    expect(inString.status, inString.text).toBe(201);
    const within = JSON.parse(deep(200));
    const stored = await api.request('POST', '/api/v2/memory', { body: { key: 'within', value: within } });
    expect(stored.status, stored.text).toBe(201);
    expect((await api.request('GET', '/api/v2/memory/within')).json.value).toEqual(within);
  });

  it('changed nothing and never answered 5xx', async () => {
    expect((await api.request('GET', '/api/v2/tasks')).json.total).toBe(0);
    expect((await api.request('GET', '/api/v2/agents')).json.items).toEqual([]);
    expect((await api.request('GET', '/api/v2/memory')).json.items.map((e: { key: string }) => e.key)).toEqual(['text', 'within']);
    expect((await api.request('GET', '/api/v2/swarms')).json.total).toBe(0);
    const metrics = (await api.request('GET', '/api/v2/system/metrics')).text;
    expect(metrics).not.toMatch(/colony_http_requests_total\{[^}]*status_code="5\d\d"/);
  });
});

/**
 * An entry stored before TTLs were bounded (`ttl: 1e16`) has an expiry past 2^53 ms that node:sqlite
 * cannot read as a number: it used to turn every listing, search and stats into a 500 and could not
 * be deleted. The row is written straight into the database, as the old code left it.
 */
describe('REST API and MCP: a memory entry with an unreadable expiry already stored', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApi();
    await api.request('POST', '/api/v2/memory', { body: { key: 'fresh', value: 'a fresh forever note' } });
    insertLegacyMemoryRow(api.colony.config.database.path, { namespace: 'default', key: 'k1', value: 'an old forever note', expiresAt: unreadableExpiry() });
  });

  afterAll(async () => {
    await api.close();
  });

  it('lists, searches, reads and counts it as expiring at the latest instant a Date can show', async () => {
    const listed = await api.request('GET', '/api/v2/memory');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.items.map((e: { key: string }) => e.key)).toEqual(['fresh', 'k1']);
    expect(listed.json.items[1]).toMatchObject({ key: 'k1', value: 'an old forever note', expiresAt: MAX_EPOCH_MS });

    const found = await api.request('GET', '/api/v2/memory?q=forever');
    expect(found.status, found.text).toBe(200);
    expect(found.json.items.map((h: { entry: { key: string } }) => h.entry.key).sort()).toEqual(['fresh', 'k1']);

    const read = await api.request('GET', '/api/v2/memory/k1');
    expect(read.status, read.text).toBe(200);
    expect(read.json).toMatchObject({ value: 'an old forever note', expiresAt: MAX_EPOCH_MS });

    const metrics = await api.request('GET', '/api/v2/system/metrics');
    expect(metrics.status).toBe(200);
  });

  it('MCP memory_usage lists, searches and retrieves it', async () => {
    const client = new Client({ name: 'colony-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${api.base}/mcp`)));
    try {
      for (const args of [{ action: 'list' }, { action: 'search', query: 'old forever' }, { action: 'retrieve', key: 'k1' }]) {
        const result = await client.callTool({ name: 'memory_usage', arguments: args });
        const text = (result.content as { type: string; text: string }[])[0]?.text ?? '';
        expect(result.isError, `${args.action}: ${text}`).toBeFalsy();
        expect(text).toContain('+275760-09-13T00:00:00.000Z');
      }
    } finally {
      await client.close();
    }
  });

  it('deletes it', async () => {
    const path = api.colony.config.database.path;
    expect(storedExpiry(path, 'default', 'k1')).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    const deleted = await api.request('DELETE', '/api/v2/memory/k1');
    expect(deleted.status, deleted.text).toBeLessThan(300);
    expect(storedExpiry(path, 'default', 'k1')).toBeUndefined();
    expectProblem(await api.request('GET', '/api/v2/memory/k1'), 404, 'not_found');
    expect((await api.request('GET', '/api/v2/memory')).json.items.map((e: { key: string }) => e.key)).toEqual(['fresh']);
  });
});
