// The fake LLM server in a process of its own, as a real model server would be: benchmarks measure
// Colony, not a server sharing its event loop. Usage: node fake-llm-process.js <toolRounds> <delayMs>
// Prints one JSON line with the base URLs, then serves until killed.
import { FakeLlmServer } from '../dist/testing/fake-llm-server.js';

const toolRounds = Number(process.argv[2] ?? 1);
const delayMs = Number(process.argv[3] ?? 0);

/**
 * Calls a tool until the conversation holds `toolRounds` tool results, then answers with text; a
 * request that offers cast_vote (a consensus voter) gets a vote.
 */
function scripted(request) {
  if (JSON.stringify(request.body?.tools ?? []).includes('"cast_vote"')) {
    return { toolCalls: [{ name: 'cast_vote', input: { decision: 'approve', confidence: 0.9, reason: 'the evidence supports it' } }], delayMs };
  }
  const results = JSON.stringify(request.body?.messages ?? []).split('"tool_result"').length - 1;
  if (results >= toolRounds) return { text: 'done', delayMs };
  return { toolCalls: [{ name: 'list_files', input: { path: '.' } }], delayMs };
}

const server = new FakeLlmServer({ defaultReply: scripted });
const urls = await server.start();
process.stdout.write(`${JSON.stringify(urls)}\n`);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
