// One swarm's page (/swarms/:id): what it is doing, its tasks, votes and result, with its controls.

import { el, status, table, section } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';

export const title = 'Swarm';

const FINISHED = ['completed', 'failed', 'stopped'];

export async function mount(view, ctx) {
  const id = ctx.params.id;
  const body = el('div', { id: 'swarm-detail' });
  view.append(body);
  let shown = '';

  async function refresh() {
    let report;
    try {
      report = await ctx.api.get(`/swarms/${encodeURIComponent(id)}/status`);
    } catch (error) {
      ctx.showError(error.message);
      return;
    }
    const key = JSON.stringify(report);
    if (key === shown) return;
    shown = key;
    const s = report.swarm;
    document.title = `${s.name} · Colony Studio`;
    const control = (action) => el('button', { type: 'button', 'data-action': action, onclick: () => controlSwarm(action) }, action);
    body.replaceChildren(
      el('h1', {}, `${s.name} `, status(s.status)),
      el('p', {}, s.objective),
      FINISHED.includes(s.status) ? null : el('div', { class: 'controls' }, s.status === 'paused' ? control('resume') : control('pause'), control('stop')),
      section(
        'Tasks',
        table(
          ['Task', 'Status', 'Agent', 'Revisions'],
          report.tasks.map((t) => el('tr', {}, el('td', {}, t.title), el('td', {}, status(t.status)), el('td', {}, t.agentType ? `${t.agentType} ${t.agentId ?? ''}` : ''), el('td', {}, t.revisions))),
          { id: 'swarm-tasks' },
        ),
      ),
      s.error ? el('p', { class: 'status-failed' }, `${s.error.code}: ${s.error.message}`) : null,
      s.result ? section(s.result.partial ? 'Result (partial)' : 'Result', el('pre', { id: 'swarm-result' }, s.result.summary)) : null,
    );
  }

  async function controlSwarm(action) {
    try {
      await ctx.api.post(`/swarms/${encodeURIComponent(id)}/control`, { action });
      ctx.showError('');
      await refresh();
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  await refresh();
  return ctx.live.on((e) => e.correlationId === id || e.type.startsWith('swarm.'), coalesce(refresh));
}
