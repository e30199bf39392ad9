import { parse } from 'yaml';
import type { z } from 'zod';
import { describeSyntaxError } from '../kernel/describe-syntax-error.js';
import { ValidationError } from '../domain/errors.js';
import type { SwarmPlan } from '../domain/swarm.js';
import { planSchema } from './swarm-spec.js';

/**
 * A plan a user wrote (YAML or JSON, which is YAML) instead of asking the planner: the same schema
 * as the planner's answer. Errors name the source and the field; dependencies and agent types are
 * checked when the swarm is created (they need the catalog).
 */
export function parsePlanText(text: string, source: string): SwarmPlan {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ValidationError(describeSyntaxError(error, source, text), { cause: error });
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    throw new ValidationError(`${source}: ${issue.path.map(String).join('.') || '(plan)'}: ${issue.message}`);
  }
  return parsed.data;
}
