import type { z } from 'zod';

/**
 * A schema's complaints in one line, for a model to read and repair its answer or its tool call:
 * "path: Invalid input: expected string, received undefined; limit: Too small: ..."
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(arguments)'}: ${issue.message}`).join('; ');
}
