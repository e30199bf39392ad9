import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import type { SwarmRecord } from '../src/domain/swarm.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import type { RecordedRequest } from '../src/testing/fake-llm-types.js';
import { eventually, isAlive, removeTempProjects, startCli, tempProject } from './support/cli.js';
import { forcedTool, requestText, swarmModel } from './support/swarm-model.js';

/**
 * Reviews across `kill -9`: a `colony swarm` process is killed while a result's review (the peers'
 * vote, the queen's review) is in flight. The process that takes the swarm over reviews that result,
 * once, and does not review again the results whose review was decided before the crash.
 */

/** The review calls about the second step's result never answer while the first process runs. */
const HELD = 'BRAVO';
const PLAN = `tasks:
  - id: first
    title: First step
    prompt: Do the ALPHA step.
  - id: second
    title: Second step
    prompt: Do the ${HELD} step.
    dependsOn: [first]
  - id: third
    title: Third step
    prompt: Do the CHARLIE step.
    dependsOn: [second]
`;
const MARKERS = { first: 'ALPHA', second: HELD, third: 'CHARLIE' } as const;

let llm: FakeLlmServer;
let env: Record<string, string>;
/** The review tool whose calls about HELD wait for the gate: cast_vote (mesh) or review_result (queen). */
let holdTool: string | null = null;
let release: () => void = () => undefined;
let gate: Promise<void> = Promise.resolve();

beforeAll(async () => {
  const model = swarmModel();
  llm = new FakeLlmServer({
    defaultReply: async (request) => {
      if (holdTool !== null && forcedTool(request) === holdTool && requestText(request).includes(HELD)) await gate;
      return model(request);
    },
  });
  const { anthropicBaseUrl } = await llm.start();
  env = { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret', COLONY_LOG_LEVEL: 'silent' };
});
afterAll(async () => {
  release();
  await llm.close();
  removeTempProjects();
});

function calls(tool: string, marker: string, requests: readonly RecordedRequest[] = llm.requests): number {
  return requests.filter((r) => forcedTool(r) === tool && requestText(r).includes(marker)).length;
}

function workerCalls(planTaskId: string): number {
  return llm.requests.filter((r) => new RegExp(`^Your task \\(${planTaskId}\\)`, 'm').test(requestText(r))).length;
}

/**
 * Runs the plan in `colony swarm` until a review call about the second step is in flight, kills the
 * process with SIGKILL, and has a new Colony process take the swarm over and finish it.
 */
async function crashDuringReview(
  topology: 'mesh' | 'centralized' | 'hierarchical',
  tool: string,
  beforeResume: (colony: Colony, swarm: SwarmRecord) => Promise<void> = async () => undefined,
): Promise<{ done: SwarmRecord; before: RecordedRequest[]; statusProposals: { taskId: string | null; status: string }[] }> {
  holdTool = tool;
  gate = new Promise<void>((resolve) => (release = resolve));
  llm.requests.length = 0;
  const project = tempProject();
  project.write('plan.yaml', PLAN);
  const cli = startCli(['swarm', 'Three steps', '--plan', 'plan.yaml', '--topology', topology, '--agents', '3', '--review', '--provider', 'anthropic', '-q'], {
    cwd: project.dir,
    env,
    timeoutMs: 90_000,
  });
  try {
    await eventually(() => (calls(tool, HELD) > 0 ? true : undefined), `a ${tool} call about the second step to be in flight`, 60_000);
  } finally {
    process.kill(cli.pid, 'SIGKILL');
  }
  expect((await cli.exited).signal).toBe('SIGKILL');
  await eventually(() => (isAlive(cli.pid) ? undefined : true), 'the killed process to be gone');
  const before = [...llm.requests];

  holdTool = null;
  release();
  const colony = await createColony({ projectDir: project.dir, env: { ...env }, config: { log: { level: 'silent' } } });
  try {
    const [swarm] = await colony.swarms.list();
    expect(swarm?.status).toBe('running');
    await beforeResume(colony, swarm!);
    await colony.start();
    const done = await colony.swarms.waitFor(swarm!.id);
    const status = await colony.swarms.status(done.id);
    return { done, before, statusProposals: status.proposals.map((p) => ({ taskId: p.taskId, status: p.status })) };
  } finally {
    await colony.close({ drainTimeoutMs: 0 });
  }
}

function reviewsOf(done: SwarmRecord): { planTaskId: string; taskId: string; verdict: string; by: string }[] {
  return (done.plan?.reviews ?? []).map((r) => ({ planTaskId: r.planTaskId, taskId: r.taskId, verdict: r.verdict, by: r.by }));
}

describe('swarm reviews across kill -9', () => {
  it('mesh: the vote cut short by the crash is held after resume; the vote decided before it is not held again', async () => {
    const { done, before, statusProposals } = await crashDuringReview('mesh', 'cast_vote');
    expect(done.status).toBe('completed');
    expect(done.result?.tasks.map((t) => t.status)).toEqual(['done', 'done', 'done']);

    // The first result was voted on before the crash, and only then.
    const firstVotes = calls('cast_vote', MARKERS.first, before);
    expect(firstVotes).toBeGreaterThan(0);
    expect(calls('cast_vote', MARKERS.first)).toBe(firstVotes);
    // The second result's vote was in flight when the process died: it was held again after resume.
    expect(calls('cast_vote', MARKERS.second)).toBeGreaterThan(calls('cast_vote', MARKERS.second, before));
    expect(calls('cast_vote', MARKERS.third, before)).toBe(0);
    expect(calls('cast_vote', MARKERS.third)).toBeGreaterThan(0);
    // No worker redid its task.
    for (const id of ['first', 'second', 'third']) expect(workerCalls(id)).toBe(1);

    // The record shows one decided review per result, by the peers.
    const taskIds = done.result!.tasks.map((t) => t.taskId);
    expect(reviewsOf(done)).toEqual([
      { planTaskId: 'first', taskId: taskIds[0], verdict: 'accept', by: 'peers' },
      { planTaskId: 'second', taskId: taskIds[1], verdict: 'accept', by: 'peers' },
      { planTaskId: 'third', taskId: taskIds[2], verdict: 'accept', by: 'peers' },
    ]);
    // And the consensus record has an accepted vote on each result, one on the first.
    for (const taskId of taskIds) expect(statusProposals.filter((p) => p.taskId === taskId && p.status === 'accepted')).toHaveLength(1);
    expect(statusProposals.filter((p) => p.taskId === taskIds[0])).toHaveLength(1);
  });

  it('mesh: a vote decided but not yet recorded when the process died is taken from the consensus record, not held again', async () => {
    // The crash window between the vote's decision and its record: the record loses the first review.
    const forget = async (colony: Colony, swarm: SwarmRecord): Promise<void> => {
      const reviews = swarm.plan?.reviews ?? [];
      expect(reviews.map((r) => r.planTaskId)).toEqual(['first']);
      const next = { ...swarm, plan: { ...swarm.plan!, reviews: [] }, updatedAt: swarm.updatedAt + 1 };
      expect(await colony.store.swarms.update(next, { status: swarm.status, updatedAt: swarm.updatedAt })).toBe(true);
    };
    const { done, before, statusProposals } = await crashDuringReview('mesh', 'cast_vote', forget);
    expect(done.status).toBe('completed');
    const firstVotes = calls('cast_vote', MARKERS.first, before);
    expect(firstVotes).toBeGreaterThan(0);
    expect(calls('cast_vote', MARKERS.first)).toBe(firstVotes);
    const taskIds = done.result!.tasks.map((t) => t.taskId);
    expect(statusProposals.filter((p) => p.taskId === taskIds[0])).toHaveLength(1);
    // Judged again from the decided vote, so the record has it once more.
    expect(reviewsOf(done).map((r) => r.planTaskId).sort()).toEqual(['first', 'second', 'third']);
  });

  it.each([
    ['centralized', 'queen'],
    ['hierarchical', 'root'],
  ] as const)('%s: the leader reviews after resume the result it was reviewing at the crash, and no other again', async (topology, by) => {
    const { done, before } = await crashDuringReview(topology, 'review_result');
    expect(done.status).toBe('completed');
    expect(done.result?.tasks.map((t) => t.status)).toEqual(['done', 'done', 'done']);

    expect(calls('review_result', MARKERS.first, before)).toBe(1);
    expect(calls('review_result', MARKERS.first)).toBe(1);
    expect(calls('review_result', MARKERS.second, before)).toBe(1);
    expect(calls('review_result', MARKERS.second)).toBe(2);
    expect(calls('review_result', MARKERS.third)).toBe(1);
    for (const id of ['first', 'second', 'third']) expect(workerCalls(id)).toBe(1);

    const taskIds = done.result!.tasks.map((t) => t.taskId);
    expect(reviewsOf(done)).toEqual([
      { planTaskId: 'first', taskId: taskIds[0], verdict: 'accept', by },
      { planTaskId: 'second', taskId: taskIds[1], verdict: 'accept', by },
      { planTaskId: 'third', taskId: taskIds[2], verdict: 'accept', by },
    ]);
  });
});
