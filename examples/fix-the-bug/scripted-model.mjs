// The model of the fix-the-bug example, scripted: it plays the planner, the two coders (who read their
// issue through the team's tracker, an MCP server, before they edit), the tester,
// the reviewers and the synthesis of a centralized swarm, over the fake LLM server that speaks the
// Anthropic protocol. A real model does the same job unscripted (see README.md).
//
// Run alone, it serves until Ctrl-C and prints the base URL to give Colony:
//   node examples/fix-the-bug/scripted-model.mjs
import { FakeLlmServer } from '../../dist/testing/fake-llm-server.js';

export const PLAN = {
  summary: 'Fix the two failing modules in parallel, then run the whole suite.',
  tasks: [
    { id: 'fix-total', title: 'Fix cartTotal (CART-1)', prompt: 'Fix issue CART-1 of the tracker: test/cart-total.test.js fails.', agentType: 'coder', kind: 'bugfix', dependsOn: [] },
    { id: 'fix-slug', title: 'Fix slugify (SLUG-2)', prompt: 'Fix issue SLUG-2 of the tracker: test/slugify.test.js fails.', agentType: 'coder', kind: 'bugfix', dependsOn: [] },
    { id: 'verify', title: 'Run the test suite', prompt: 'Check that the whole test suite passes with both fixes.', agentType: 'tester', kind: 'test', dependsOn: ['fix-total', 'fix-slug'] },
  ],
};

/** Each task's tool calls, one per model turn, then its report. */
const STEPS = {
  'fix-total': [
    { name: 'mcp__tracker__get_issue', input: { id: 'CART-1' } },
    { name: 'read_file', input: { path: 'src/cart-total.js' } },
    { name: 'edit_file', input: { path: 'src/cart-total.js', old_text: 'let i = 1;', new_text: 'let i = 0;' } },
    { name: 'report_result', input: { result: 'cartTotal skipped the first line (the loop started at 1); it now starts at 0.' } },
  ],
  'fix-slug': [
    { name: 'mcp__tracker__get_issue', input: { id: 'SLUG-2' } },
    { name: 'read_file', input: { path: 'src/slugify.js' } },
    { name: 'edit_file', input: { path: 'src/slugify.js', old_text: '    .trim()\n', new_text: '    .trim()\n    .toLowerCase()\n' } },
    { name: 'report_result', input: { result: 'slugify kept capitals; it now lower-cases the title first.' } },
  ],
  verify: [
    { name: 'run_shell', input: { command: 'npm test' } },
    { name: 'report_result', input: { result: 'The whole suite passes: 4 tests, 0 failures.' } },
  ],
};

/** The text of every user message (the task prompt comes first; tool results and hook feedback after). */
function messages(request) {
  return (request.body?.messages ?? []).filter((m) => m.role === 'user');
}

function textOf(message) {
  if (typeof message.content === 'string') return message.content;
  return (message.content ?? []).map((c) => c.text ?? (typeof c.content === 'string' ? c.content : '')).join('\n');
}

/** The reply function: which role is asked is read from the forced tool or the prompt. */
export function fixTheBugModel(request) {
  const usage = { inputTokens: 400, outputTokens: 60 };
  const forced = request.body?.tool_choice?.name;
  const call = (name, input) => ({ toolCalls: [{ name, input }], usage });
  if (forced === 'submit_plan') return call('submit_plan', PLAN);
  if (forced === 'review_result') return call('review_result', { verdict: 'accept', feedback: 'The change is minimal and the tests cover it.' });
  if (forced === 'cast_vote') return call('cast_vote', { decision: 'approve', confidence: 0.9, reason: 'Minimal fix, covered by the tests.' });
  const user = messages(request);
  const first = user.length > 0 ? textOf(user[0]) : '';
  if (first.includes('Synthesize one answer')) return { text: 'Both bugs are fixed on the swarm branch and the whole suite passes.', usage };
  const task = /Your task \(([\w-]+)\)/.exec(first)?.[1];
  const steps = task ? STEPS[task] : undefined;
  if (!steps) return { text: 'Nothing to do for this request.', usage };
  // One step per turn: the turns so far are the user messages after the prompt (tool results, feedback).
  const step = steps[Math.min(user.length - 1, steps.length - 1)];
  return call(step.name, step.input);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = new FakeLlmServer({ defaultReply: fixTheBugModel });
  const { anthropicBaseUrl } = await server.start();
  console.log(`scripted model at ${anthropicBaseUrl}`);
  console.log(`  export ANTHROPIC_BASE_URL=${anthropicBaseUrl} ANTHROPIC_API_KEY=scripted COLONY_PROVIDER=anthropic`);
  process.on('SIGINT', () => server.close().then(() => process.exit(0)));
}
