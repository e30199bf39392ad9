// Usage and cost: tokens and estimated dollars for the swarm, per task, per agent and per model,
// with the budget left. Dollars are estimates from list prices; a model with no known price says so.

import { el, table, count, dollars } from '../lib/dom.js';
import { replaceKeepingFocus } from './keep-focus.js';

function costText(sum) {
  if (sum.costUsd === null) return sum.unpricedCalls > 0 ? 'no price known' : '';
  return `${dollars(sum.costUsd)}${sum.unpricedCalls > 0 ? ` + ${sum.unpricedCalls} unpriced call${sum.unpricedCalls === 1 ? '' : 's'}` : ''}`;
}

const cells = (sum) => [
  el('td', { class: 'num' }, count(sum.calls)),
  el('td', { class: 'num' }, count(sum.inputTokens)),
  el('td', { class: 'num' }, count(sum.outputTokens)),
  el('td', { class: 'num cost' }, costText(sum)),
];
const HEAD = ['Calls', 'Input tokens', 'Output tokens', 'Estimated cost'];

function budgetLine(usage) {
  const b = usage.budget;
  const parts = [];
  if (b.maxTokens !== null) parts.push(`${count(b.tokensLeft)} of ${count(b.maxTokens)} tokens left`);
  if (b.maxCostUsd !== null) parts.push(b.costLeftUsd === null ? `cost limit ${dollars(b.maxCostUsd)} (spend unknown: no price known for a model)` : `${dollars(b.costLeftUsd)} of ${dollars(b.maxCostUsd)} left`);
  return parts.length === 0 ? 'No budget limits.' : `Budget: ${parts.join(' · ')}.`;
}

/** usage: GET /swarms/:id/usage; titleOf(planTaskId) → title; agentLabel(agentId) → text. */
export function renderUsage(container, usage, { titleOf, agentLabel }) {
  const t = usage.total;
  const inFlight = t.openCalls > 0 ? ` · ${t.openCalls} call${t.openCalls === 1 ? '' : 's'} in flight (${count(t.openTokens)} tokens reserved)` : '';
  const lost = t.lostCalls > 0 ? ` · ${t.lostCalls} lost call${t.lostCalls === 1 ? '' : 's'} counted at their reservation` : '';
  replaceKeepingFocus(
    container,
    el(
      'p',
      { id: 'usage-total' },
      el('strong', {}, `${count(t.inputTokens + t.outputTokens)} tokens`),
      ` (${count(t.inputTokens)} in, ${count(t.outputTokens)} out) in ${count(t.calls)} model call${t.calls === 1 ? '' : 's'} · `,
      el('strong', { id: 'usage-cost' }, t.costUsd === null ? (t.calls === 0 ? '$0.00' : 'no price known') : dollars(t.costUsd)),
      ' estimated',
      inFlight,
      lost,
    ),
    el('p', { id: 'usage-budget' }, budgetLine(usage)),
    el('p', { class: 'muted' }, 'Dollars are estimates from list prices; a model with no known price is not counted in them.'),
    el('h3', {}, 'Per task'),
    table(
      ['Task', ...HEAD],
      usage.tasks.map((r) =>
        el(
          'tr',
          { 'data-task': r.taskId ?? 'swarm' },
          el('td', {}, r.taskId === null ? "the swarm's own calls (planning, review, synthesis)" : [
                  el('a', { href: `/tasks/${encodeURIComponent(r.taskId)}`, 'data-key': `usage-task:${r.taskId}` }, titleOf(r.planTaskId) ?? r.planTaskId ?? r.taskId),
                  r.planTaskId ? el('span', { class: 'muted' }, ` ${r.planTaskId}`) : null,
                ]),
          ...cells(r),
        ),
      ),
      { id: 'usage-tasks' },
    ),
    el('h3', {}, 'Per agent'),
    table(
      ['Agent', ...HEAD],
      usage.agents.map((r) =>
        el(
          'tr',
          { 'data-agent': r.agentId ?? 'none' },
          el('td', {}, r.agentId === null ? 'no agent' : el('a', { href: `/agents?id=${encodeURIComponent(r.agentId)}`, 'data-key': `usage-agent:${r.agentId}` }, agentLabel(r.agentId))),
          ...cells(r),
        ),
      ),
      { id: 'usage-agents' },
    ),
    el('h3', {}, 'Per model'),
    table(
      ['Model', ...HEAD],
      usage.models.map((r) => el('tr', { 'data-model': r.model }, el('td', {}, `${r.provider} ${r.model}${r.priced ? '' : ' (no price known)'}`), ...cells(r))),
      { id: 'usage-models' },
    ),
  );
}
