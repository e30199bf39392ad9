// The tasks list (/tasks): searched, filtered, sorted and paged by the server (only one page is ever fetched or
// drawn, so it stays quick with any number of tasks), and the workflow runs, each linking to its tasks.
// Filters live in the URL query.

import { el, link, status, section, dateTime, count } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';
import { cardTable } from '../components/card-table.js';
import { query } from '../lib/api.js';
import { filterForm, withQuery } from '../components/filter-form.js';

export const title = 'Tasks';

const PAGE_SIZE = 50;
const STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'];
const SORTS = [
  ['-createdAt', 'newest first'],
  ['createdAt', 'oldest first'],
  ['-priority', 'highest priority first'],
];
const WORKFLOW_STATUSES = ['running', 'completed', 'failed', 'cancelled'];
const ID_FILTERS = ['swarmId', 'workflowId', 'agentId', 'parentId'];

export async function mount(view, ctx) {
  const q = ctx.query;
  const offset = Math.max(0, Number(q.get('offset') ?? 0) || 0);
  const list = el('div', { id: 'task-list' });
  const runs = el('div', { id: 'workflow-list' });
  view.append(
    el('h1', {}, 'Tasks'),
    section(
      'Filter',
      filterForm(
        ctx,
        '/tasks',
        [
          { name: 'search', label: 'Name or description', type: 'text', placeholder: 'text to find' },
          { name: 'status', label: 'Status', type: 'select', options: [['', 'any'], ...STATUSES.map((s) => [s, s])] },
          { name: 'type', label: 'Type', type: 'text', placeholder: 'agent, shell, …' },
          { name: 'swarmId', label: 'Swarm', type: 'text', placeholder: 'swm_…' },
          { name: 'workflowId', label: 'Workflow', type: 'text', placeholder: 'wf_…' },
          { name: 'agentId', label: 'Agent', type: 'text', placeholder: 'agt_…' },
          { name: 'sort', label: 'Sort', type: 'select', options: SORTS },
        ],
        { id: 'task-filters' },
      ),
    ),
    section('Tasks', list),
    section(
      'Workflow runs',
      filterForm(ctx, '/tasks', [{ name: 'workflowStatus', label: 'Run status', type: 'select', options: [['', 'any'], ...WORKFLOW_STATUSES.map((s) => [s, s])] }], {
        id: 'workflow-filters',
        submitLabel: 'Show runs',
      }),
      runs,
    ),
  );

  const params = {
    limit: PAGE_SIZE,
    offset,
    search: q.get('search'),
    status: q.get('status'),
    type: q.get('type'),
    sort: q.get('sort') || '-createdAt',
    ...Object.fromEntries(ID_FILTERS.map((k) => [k, q.get(k)])),
  };

  let shown = '';
  async function refresh() {
    try {
      const page = await ctx.api.get(`/tasks${query(params)}`);
      const key = JSON.stringify(page);
      if (key === shown) return;
      shown = key;
      list.replaceChildren(
        el('p', { id: 'task-total' }, `${count(page.total)} task${page.total === 1 ? '' : 's'}${filtersSaid(q)}`),
        page.items.length === 0 ? el('p', { class: 'empty' }, 'No tasks match.') : cardTable(['Task', 'Type', 'Status', 'Attempts', 'Agent', 'Swarm / workflow', 'Created'], page.items.map(row), { id: 'task-table' }),
        pager(ctx, page, offset) ?? '',
      );
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  async function refreshRuns() {
    try {
      const page = await ctx.api.get(`/workflows${query({ limit: PAGE_SIZE, status: q.get('workflowStatus') })}`);
      runs.replaceChildren(
        page.items.length === 0
          ? el('p', { class: 'empty' }, 'No workflow runs.')
          : cardTable(
              ['Workflow', 'Status', 'Source', 'Started', 'Finished'],
              page.items.map((w) =>
                el(
                  'tr',
                  { class: 'workflow', 'data-id': w.id },
                  el('td', {}, link(`/tasks?workflowId=${encodeURIComponent(w.id)}`, w.name), el('div', { class: 'muted' }, w.id)),
                  el('td', {}, status(w.status)),
                  el('td', {}, w.source ?? ''),
                  el('td', {}, dateTime(w.createdAt)),
                  el('td', {}, w.completedAt ? dateTime(w.completedAt) : ''),
                ),
              ),
              { id: 'workflow-table' },
            ),
      );
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  await Promise.all([refresh(), refreshRuns()]);
  // Live updates redraw only the page on screen (one request), however many tasks change.
  return ctx.live.on((e) => e.type.startsWith('task.') || e.type.startsWith('workflow.'), coalesce(() => void Promise.all([refresh(), refreshRuns()]), 1_000));
}

function row(t) {
  return el(
    'tr',
    { class: 'task', 'data-id': t.id },
    el('td', {}, link(`/tasks/${t.id}`, t.name || t.description || t.id), t.name || t.description ? el('div', { class: 'muted' }, t.id) : null),
    el('td', {}, t.type),
    el('td', {}, status(t.status)),
    el('td', { class: 'num' }, String(t.attempts)),
    el('td', {}, t.assignedAgent ? link(`/agents?id=${encodeURIComponent(t.assignedAgent)}`, t.assignedAgent) : ''),
    el(
      'td',
      {},
      t.swarmId ? link(`/swarms/${t.swarmId}`, t.swarmId) : null,
      t.workflowId ? link(`/tasks?workflowId=${encodeURIComponent(t.workflowId)}`, t.workflowId) : null,
    ),
    el('td', {}, dateTime(t.createdAt)),
  );
}

function filtersSaid(q) {
  const parts = ['search', 'status', 'type', ...ID_FILTERS].filter((k) => q.get(k)).map((k) => `${k} ${q.get(k)}`);
  return parts.length ? ` with ${parts.join(', ')}` : '';
}

function pager(ctx, page, offset) {
  if (page.total <= PAGE_SIZE && offset === 0) return null;
  const last = Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE);
  const to = (o) => withQuery(ctx, '/tasks', { offset: o });
  return el(
    'nav',
    { class: 'pager', 'aria-label': 'Task pages' },
    offset > 0 ? link(to(0), 'first') : null,
    offset > 0 ? link(to(Math.max(0, offset - PAGE_SIZE)), '← previous') : null,
    el('span', { id: 'task-range' }, ` ${count(Math.min(offset + 1, page.total))}–${count(Math.min(page.total, offset + PAGE_SIZE))} of ${count(page.total)} `),
    offset + PAGE_SIZE < page.total ? link(to(offset + PAGE_SIZE), 'next →') : null,
    offset < last ? link(to(last), 'last') : null,
  );
}
