import { z } from 'zod';
import { PRIORITIES, type PriorityName } from '../../../domain/task.js';
import { defineTool } from './agent-tool.js';

/**
 * create_subtask: hands a piece of work to another agent as a child task. The runtime does not know
 * the task engine; it calls the `submitSubtask` callback it was given.
 */
export const createSubtaskTool = defineTool({
  name: 'create_subtask',
  description:
    'Delegate a piece of work to another agent as a child task of this one. It runs on its own (this call does not wait for it) and returns the new task id. Give the other agent everything it needs in `prompt`: it does not see your conversation.',
  input: z.object({
    description: z.string().min(1).max(500).describe('A one-line summary of the subtask'),
    prompt: z.string().min(1).max(100_000).describe('Complete instructions for the agent that will do it'),
    agent_type: z.string().min(1).optional().describe('The agent type to run it, e.g. "tester" or "reviewer"'),
    capabilities: z.array(z.string().min(1)).optional().describe('Capabilities the agent must have, when no agent_type is given'),
    priority: z.enum(Object.keys(PRIORITIES) as [PriorityName, ...PriorityName[]]).optional(),
  }),
  async run(input, { submitSubtask, task }) {
    if (submitSubtask === undefined) return { isError: true, content: 'subtasks cannot be created in this run' };
    const created = await submitSubtask({
      parentId: task.id,
      description: input.description,
      prompt: input.prompt,
      ...(input.agent_type === undefined ? {} : { agentType: input.agent_type }),
      ...(input.capabilities === undefined ? {} : { capabilities: input.capabilities }),
      ...(input.priority === undefined ? {} : { priority: PRIORITIES[input.priority] }),
    });
    return `Created subtask ${created.id}. It runs independently of this task.`;
  },
});
