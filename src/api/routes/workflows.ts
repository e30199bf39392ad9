import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { WORKFLOW_STATUSES } from '../../domain/workflow.js';
import { API_PREFIX } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { ERROR_RESPONSES, limitSchema } from '../schemas.js';

const listQuery = z.strictObject({
  status: z.enum(WORKFLOW_STATUSES).optional(),
  limit: limitSchema(),
});

const workflowSchema = z.object({
  id: z.string(),
  name: z.string(),
  source: z.string().nullable(),
  definitionHash: z.string(),
  status: z.enum(WORKFLOW_STATUSES),
  createdAt: z.number(),
  updatedAt: z.number(),
  completedAt: z.number().nullable(),
});

const tags = ['workflows'];

export function registerWorkflowRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  app.get(
    `${API_PREFIX}/workflows`,
    {
      schema: {
        tags,
        summary: 'List workflow runs, newest first',
        description: "Each run is a task DAG submitted under one workflow id: list its tasks with `GET /tasks?workflowId=`.",
        querystring: listQuery,
        response: { 200: z.object({ items: z.array(workflowSchema) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof listQuery>;
      return { items: await colony.workflows.list({ limit: q.limit, ...(q.status ? { status: q.status } : {}) }) };
    },
  );
}
