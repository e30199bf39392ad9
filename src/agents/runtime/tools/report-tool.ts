import { z } from 'zod';
import type { JsonValue } from '../../../domain/json.js';
import { defineTool } from './agent-tool.js';

/** report_result: the agent's final answer; the loop ends once this turn's tool calls have run. */
export const reportResultTool = defineTool({
  name: 'report_result',
  description:
    'Finish the task and report its result. `result` is a short summary of what you did (files changed, commands run and their outcome, anything left undone), or the structured data the task asked for. Call it once, when you are done.',
  input: z.object({
    result: z
      .unknown()
      .refine((value) => value !== undefined, 'a result is required')
      .describe('The final result: a string or any JSON value'),
  }),
  async run(input, { report }) {
    // The arguments came from JSON, so the value is JSON.
    report(input.result as JsonValue);
    return 'Result recorded. The task is finished.';
  },
});
