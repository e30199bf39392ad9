// Agents (/agents): every agent with its type, status, health and load, filtered and paginated;
// what adaptive selection has learnt per kind of work; one agent's detail with ?id=<agentId>, with
// its tasks and (operator) pause, resume and terminate.

import { el, link, status, section, count, duration, dollars, dateTime, shortId } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';
import { query } from '../lib/api.js';
import { dataTable } from '../components/data-table.js';
import { unlessFocusedIn } from '../components/focus-guard.js';
import { pager, offsetFrom } from '../components/pager.js';
import { filterForm } from '../components/filter-form.js';
import { confirmButton } from '../components/confirm-button.js';
import { callerRole, mayAct } from '../components/caller-role.js';

export const title = 'Agents';

const PAGE_SIZE = 25;
const RECENT_TASKS = 10;
const STATUSES = ['idle', 'busy', 'paused', 'error', 'terminated'];

const percent = (x) => `${Math.round(x * 100)}%`;

export async function mount(view, ctx) {
  const offset = offsetFrom(ctx.query);
  const selected = ctx.query.get('id');
  const detail = el('div', { id: 'agent-detail' });
  const list = el('div', { id: 'agent-list' });
  const record = el('div', { id: 'track-record' });
  const [types, role] = await Promise.all([ctx.api.get('/agent-types').catch(() => ({ items: [] })), callerRole(ctx.api)]);
  const typeOptions = [['', 'any'], ...types.items.map((t) => [t.name, t.name])];
  const filters = filterForm(
    ctx,
    '/agents',
    [
      { name: 'status', label: 'Status', options: [['', 'active (not terminated)'], ...STATUSES.map((s) => [s, s])] },
      { name: 'type', label: 'Type', options: typeOptions },
    ],
    { id: 'agent-filters' },
  );
  view.append(el('h1', {}, 'Agents'), detail, section('Agents', filters, list), section('Track record by kind of work', record));

  async function refreshList() {
    const q = { limit: PAGE_SIZE, offset, status: ctx.query.get('status'), type: ctx.query.get('type') };
    const page = await ctx.api.get(`/agents${query(q)}`);
    const rows = page.items.map((a) =>
      el(
        'tr',
        { class: a.id === selected ? 'agent selected' : 'agent', 'data-id': a.id, 'aria-current': a.id === selected ? 'true' : undefined },
        el('td', {}, link(`/agents${query({ ...Object.fromEntries(ctx.query), id: a.id })}`, a.name)),
        el('td', {}, a.type),
        el('td', {}, status(a.status)),
        el('td', {}, status(a.health)),
        el('td', { class: 'num' }, `${a.currentTasks.length} / ${a.maxConcurrency}`),
        el('td', {}, dateTime(a.createdAt)),
      ),
    );
    list.replaceChildren(
      page.items.length === 0
        ? el('p', { class: 'empty' }, 'No agents match. Swarms spawn their agents and retire them when they finish: choose status "terminated" to see those.')
        : dataTable('Agents', ['Agent', 'Type', 'Status', 'Health', 'Load (tasks / max)', 'Created'], rows, { id: 'agent-table' }),
      pager('/agents', ctx.query, page, 'Agent pages'),
    );
  }

  async function refreshRecord() {
    const stats = await ctx.api.get('/agent-types/stats');
    record.replaceChildren(
      el('p', { class: 'muted' }, 'What adaptive agent selection has learnt from finished agent tasks: it prefers the agent type that does best at each kind of work.'),
      stats.items.length === 0
        ? el('p', { class: 'empty' }, 'No finished agent tasks yet.')
        : dataTable(
            'Track record by kind of work',
            ['Kind of work', 'Agent type', 'Runs', 'Succeeded', 'Failed', 'Success rate', 'Mean time', 'Mean cost'],
            stats.items.map((s) =>
              el(
                'tr',
                { 'data-kind': s.taskKind, 'data-type': s.agentType },
                el('td', {}, s.taskKind),
                el('td', {}, s.agentType),
                el('td', { class: 'num' }, count(s.runs)),
                el('td', { class: 'num' }, count(s.successes)),
                el('td', { class: 'num' }, count(s.failures)),
                el('td', { class: 'num' }, percent(s.successRate)),
                el('td', { class: 'num' }, s.meanLatencyMs === null ? '—' : duration(s.meanLatencyMs)),
                el('td', { class: 'num' }, s.meanCostUsd === null ? 'unknown' : dollars(s.meanCostUsd)),
              ),
            ),
            { id: 'track-record-table' },
          ),
    );
  }

  async function refreshDetail() {
    if (!selected) return;
    const [health, recent] = await Promise.all([
      ctx.api.get(`/agents/${encodeURIComponent(selected)}/health`),
      ctx.api.get(`/tasks${query({ agentId: selected, sort: '-createdAt', limit: RECENT_TASKS })}`),
    ]);
    const a = health.agent;
    const tr = health.trackRecord;
    const taskLink = (id) => el('li', {}, link(`/tasks/${encodeURIComponent(id)}`, shortId(id)));
    detail.replaceChildren(
      el(
        'section',
        { class: 'panel', 'aria-labelledby': 'agent-detail-title' },
        el('h2', { id: 'agent-detail-title' }, `${a.name} `, status(a.status)),
        el(
          'dl',
          { class: 'facts' },
          el('dt', {}, 'Id'), el('dd', {}, el('code', {}, a.id)),
          el('dt', {}, 'Type'), el('dd', {}, a.type),
          el('dt', {}, 'Health'), el('dd', {}, status(a.health)),
          el('dt', {}, 'Load'), el('dd', {}, `${a.currentTasks.length} of ${a.maxConcurrency} task slots (${percent(health.load)})`),
          el('dt', {}, 'Capabilities'), el('dd', {}, a.capabilities.join(', ') || 'none'),
          el('dt', {}, 'Track record'),
          el('dd', {}, `${count(tr.tasksCompleted)} completed, ${count(tr.tasksFailed)} failed${tr.meanDurationMs === null ? '' : `, ${duration(tr.meanDurationMs)} on average`}`),
          el('dt', {}, 'Created'), el('dd', {}, dateTime(a.createdAt)),
          a.terminatedAt ? [el('dt', {}, 'Terminated'), el('dd', {}, dateTime(a.terminatedAt))] : null,
          el('dt', {}, 'Events'), el('dd', {}, link(`/events${query({ correlationId: a.id })}`, 'this agent\'s events')),
        ),
        controls(a),
        el('h3', {}, 'Current tasks'),
        a.currentTasks.length === 0 ? el('p', { class: 'empty' }, 'None.') : el('ul', { id: 'agent-current-tasks' }, ...a.currentTasks.map(taskLink)),
        el('h3', {}, 'Recent tasks'),
        recent.items.length === 0
          ? el('p', { class: 'empty' }, 'None.')
          : dataTable(
              'Recent tasks',
              ['Task', 'Status', 'Created'],
              recent.items.map((t) => el('tr', {}, el('td', {}, link(`/tasks/${encodeURIComponent(t.id)}`, t.name || t.description.slice(0, 80) || shortId(t.id))), el('td', {}, status(t.status)), el('td', {}, dateTime(t.createdAt)))),
              { id: 'agent-recent-tasks' },
            ),
      ),
    );
  }

  /** Pause, resume and terminate (operator); a terminated agent has none. */
  function controls(a) {
    if (a.status === 'terminated') return null;
    if (!mayAct(role, 'operator')) return el('p', { class: 'muted' }, 'Pausing or terminating an agent needs the operator role.');
    const act = async (run) => {
      try {
        await run();
        ctx.showError('');
        await refresh();
      } catch (error) {
        ctx.showError(error.message);
      }
    };
    const id = encodeURIComponent(a.id);
    const toggle = a.status === 'paused'
      ? el('button', { type: 'button', 'data-action': 'resume', onclick: () => act(() => ctx.api.put(`/agents/${id}`, { status: 'idle' })) }, 'Resume')
      : el('button', { type: 'button', 'data-action': 'pause', onclick: () => act(() => ctx.api.put(`/agents/${id}`, { status: 'paused' })) }, 'Pause');
    return el(
      'div',
      { class: 'controls' },
      toggle,
      confirmButton({
        label: 'Terminate',
        question: `Terminate ${a.name}? Its running tasks are retried on another agent.`,
        confirmLabel: 'Yes, terminate',
        attrs: { 'data-action': 'terminate' },
        onError: (error) => ctx.showError(error.message),
        action: () => act(() => ctx.api.del(`/agents/${id}`)),
      }),
    );
  }

  async function refresh() {
    try {
      await Promise.all([refreshList(), refreshRecord(), refreshDetail()]);
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  await refresh();
  const guarded = unlessFocusedIn(view, refresh);
  const off = ctx.live.on((e) => e.type.startsWith('agent.') || e.type === 'task.completed' || e.type === 'task.failed', coalesce(guarded, 1_000));
  return () => {
    off();
    guarded.stop();
  };
}
