import type { FakeReplyFunction } from '../../src/testing/fake-llm-server.js';

/**
 * Wraps a fake model so that requests whose body contains `marker` are answered only after `ms`:
 * a swarm task whose prompt carries the marker keeps running while a test pauses or stops the swarm.
 */
export function holdWhere(reply: FakeReplyFunction, marker: string, ms = 30_000): FakeReplyFunction {
  return async (request) => {
    const answer = await reply(request);
    if ('fault' in answer || !JSON.stringify(request.body).includes(marker)) return answer;
    return { ...answer, delayMs: ms };
  };
}
