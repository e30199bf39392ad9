import type { PlanTaskReview, SwarmPlan } from '../domain/swarm.js';

/** The plan with one more decided review recorded. */
export function withReview(plan: SwarmPlan, review: PlanTaskReview): SwarmPlan {
  return { ...plan, reviews: [...(plan.reviews ?? []), review] };
}

/** Each judged result's decided review, by engine task id (a result is judged once; the last wins). */
export function reviewsByTask(plan: SwarmPlan): Map<string, PlanTaskReview> {
  return new Map((plan.reviews ?? []).map((r) => [r.taskId, r]));
}
