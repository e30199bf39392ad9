import { asList, isPlainObject, kebabName, matchOption, nameKey, pick, trimmed } from '../providers/lenient-values.js';

/**
 * A planner's answer in the form the plan schema wants, where only the form differs: task ids with
 * spaces, dependencies that name a task in another case or spelling, agent types and domain names
 * as `Data Collection` rather than `data-collection`, a single dependency as a string, extra fields.
 * Nothing is made up: what cannot be read (an agent type the catalog does not have, a dependency on
 * no task) is left for the schema and the plan check to name.
 */

const TASK_KEYS = ['id', 'title', 'prompt', 'agentType', 'capabilities', 'dependsOn', 'kind', 'affinity', 'domain'] as const;
const TASK_ID_MAX = 64;

export interface PlanVocabulary {
  /** The catalog's agent type names. */
  knownTypes: ReadonlySet<string>;
  /** Distributed: the pool labels a task may prefer. */
  pools?: readonly string[];
  /** Ids already in the plan (tasks a review adds may depend on them). */
  existing?: ReadonlySet<string>;
}

/** `{ summary, tasks }`, also from a bare list of tasks or a plan wrapped in `{ plan: … }`. */
export function normalizePlanAnswer(raw: unknown, vocabulary: PlanVocabulary): unknown {
  let plan = raw;
  if (Array.isArray(plan)) plan = { tasks: plan };
  if (isPlainObject(plan) && plan.tasks === undefined && isPlainObject(plan.plan)) plan = plan.plan;
  if (!isPlainObject(plan)) return raw;
  const out = pick(plan, ['summary', 'tasks']);
  if (typeof out.summary === 'string') out.summary = out.summary.trim();
  if (Array.isArray(out.tasks)) out.tasks = normalizePlanTasks(out.tasks, vocabulary);
  return out;
}

/** Plan tasks with ids, references, types and names in canonical form (see the file's comment). */
export function normalizePlanTasks(tasks: readonly unknown[], vocabulary: PlanVocabulary): unknown[] {
  const ids = new Map<string, string>();
  for (const task of tasks) {
    if (isPlainObject(task) && typeof task.id === 'string') ids.set(task.id, taskId(task.id));
  }
  // A reference resolves to a task of this plan (or one planned before) whatever its case or spacing.
  const byKey = new Map<string, string>();
  for (const id of [...(vocabulary.existing ?? []), ...ids.values()]) if (!byKey.has(nameKey(id))) byKey.set(nameKey(id), id);
  const reference = (ref: unknown): unknown => {
    if (typeof ref !== 'string' && typeof ref !== 'number') return ref;
    const text = String(ref);
    return ids.get(text) ?? byKey.get(nameKey(text)) ?? taskId(text);
  };
  const typesByKey = new Map([...vocabulary.knownTypes].map((t) => [nameKey(t), t]));
  return tasks.map((task) => {
    if (!isPlainObject(task)) return task;
    const out = pick(task, TASK_KEYS);
    if (typeof out.id === 'string' || typeof out.id === 'number') out.id = ids.get(String(out.id)) ?? taskId(String(out.id));
    out.title = trimmed(out.title);
    out.prompt = trimmed(out.prompt);
    if (out.dependsOn !== undefined) {
      const list = asList(out.dependsOn);
      out.dependsOn = Array.isArray(list) ? [...new Set(list.map(reference))] : list;
    }
    if (out.capabilities !== undefined) out.capabilities = asList(out.capabilities);
    if (typeof out.agentType === 'string') {
      if (out.agentType.trim() === '') delete out.agentType;
      else out.agentType = agentType(out.agentType, typesByKey);
    } else if (out.agentType === null) delete out.agentType;
    if (typeof out.kind === 'string' && out.kind.trim() !== '') out.kind = kebabName(out.kind);
    else if (out.kind === null || out.kind === '') delete out.kind;
    if (typeof out.affinity === 'string') out.affinity = matchOption(out.affinity, vocabulary.pools ?? []) ?? out.affinity.trim();
    else if (out.affinity === null) delete out.affinity;
    return out;
  });
}

/** `{ domains: [{ name, objective }] }` with kebab-case names, also from a bare list. */
export function normalizeDomainsAnswer(raw: unknown): unknown {
  const answer = Array.isArray(raw) ? { domains: raw } : raw;
  if (!isPlainObject(answer) || !Array.isArray(answer.domains)) return raw;
  return {
    domains: answer.domains.map((d) => {
      if (!isPlainObject(d)) return d;
      const out = pick(d, ['name', 'objective']);
      if (typeof out.name === 'string') out.name = kebabName(out.name);
      out.objective = trimmed(out.objective);
      return out;
    }),
  };
}

/** Words a reviewer may use for each verdict. */
const VERDICT_SYNONYMS: Readonly<Record<string, string>> = {
  accepted: 'accept',
  approve: 'accept',
  approved: 'accept',
  ok: 'accept',
  lgtm: 'accept',
  yes: 'accept',
  revision: 'revise',
  revised: 'revise',
  'send back': 'revise',
  rework: 'revise',
  reject: 'revise',
  rejected: 'revise',
  're-plan': 'replan',
  replanned: 'replan',
};

/** A review verdict: the verdict in any case or in a synonym, feedback as text, new tasks as plan tasks. */
export function normalizeReviewAnswer(raw: unknown, vocabulary: PlanVocabulary): unknown {
  if (!isPlainObject(raw)) return raw;
  const out = pick(raw, ['verdict', 'feedback', 'newTasks']);
  out.verdict = matchOption(out.verdict, ['accept', 'revise', 'replan'], VERDICT_SYNONYMS) ?? out.verdict;
  if (Array.isArray(out.feedback) && out.feedback.every((f) => typeof f === 'string')) out.feedback = out.feedback.join('\n');
  out.feedback = trimmed(out.feedback);
  if (out.feedback === null) delete out.feedback;
  if (out.newTasks === null) delete out.newTasks;
  if (Array.isArray(out.newTasks)) out.newTasks = normalizePlanTasks(out.newTasks, vocabulary);
  return out;
}

/** A task id in the form plan ids take: spaces become dashes, other characters outside the id alphabet go. */
function taskId(text: string): string {
  const id = text
    .trim()
    .replace(/\s+/g, '-')
    .replace(/[^A-Za-z0-9_.-]/g, '')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, TASK_ID_MAX);
  return id === '' ? text : id;
}

/** The catalog's name for an agent type written loosely (`Backend Developer`, `backend_developer`). */
function agentType(text: string, typesByKey: ReadonlyMap<string, string>): string {
  const key = nameKey(text);
  return typesByKey.get(key) ?? typesByKey.get(key.replace(/agent$/, '')) ?? kebabName(text);
}
