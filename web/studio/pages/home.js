// The start page: a form to start a swarm and the swarms so far, each linking to its page.

import { el, link, status, table, section, time, count } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';

export const title = 'Swarms';

const PAGE_SIZE = 25;

function swarmForm(ctx) {
  const form = el(
    'form',
    { id: 'swarm-form' },
    el('label', {}, 'Objective ', el('textarea', { name: 'objective', rows: 3, placeholder: 'What should the swarm do?', required: true })),
    el(
      'div',
      { class: 'row' },
      el(
        'label',
        {},
        'Topology ',
        el(
          'select',
          { name: 'topology' },
          el('option', { value: 'centralized' }, 'centralized (queen-led)'),
          el('option', { value: 'mesh' }, 'mesh (peers vote)'),
          el('option', { value: 'hierarchical' }, 'hierarchical (domains)'),
          el('option', { value: 'distributed' }, 'distributed (pools)'),
        ),
      ),
      el('label', {}, 'Agents ', el('input', { name: 'agents', type: 'number', min: 1, max: 1000, value: 3 })),
      el('label', {}, 'Max tokens ', el('input', { name: 'maxTokens', type: 'number', min: 1, placeholder: 'no bound' })),
      el('label', { class: 'check' }, el('input', { name: 'review', type: 'checkbox', checked: true }), ' review results'),
    ),
    el(
      'details',
      {},
      el('summary', {}, 'Plan (optional JSON: ', el('code', {}, '{"tasks": [{"id", "title", "prompt", "dependsOn"}]}'), ')'),
      el('label', {}, 'Plan JSON ', el('textarea', { name: 'plan', rows: 6, placeholder: 'leave empty to let the planner decompose the objective' })),
    ),
    el('button', { type: 'submit', class: 'primary' }, 'Start swarm'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const spec = { objective: form.objective.value, topology: form.topology.value, review: form.review.checked };
    if (form.agents.value) spec.agents = Number(form.agents.value);
    if (form.maxTokens.value) spec.maxTokens = Number(form.maxTokens.value);
    if (form.plan.value.trim()) {
      try {
        spec.plan = JSON.parse(form.plan.value);
      } catch (error) {
        ctx.showError(`plan: not valid JSON (${error.message})`);
        return;
      }
    }
    try {
      const swarm = await ctx.api.post('/swarms', spec);
      ctx.navigate(`/swarms/${swarm.id}`);
    } catch (error) {
      ctx.showError(error.message);
    }
  });
  return form;
}

export async function mount(view, ctx) {
  const offset = Math.max(0, Number(ctx.query.get('offset') ?? 0) || 0);
  const list = el('div', { id: 'swarm-list' });
  view.append(el('h1', {}, 'Swarms'), section('New swarm', swarmForm(ctx)), section('Swarms', list));

  let shown = '';
  async function refresh() {
    try {
      const page = await ctx.api.get(`/swarms?limit=${PAGE_SIZE}&offset=${offset}`);
      const key = JSON.stringify(page);
      if (key === shown) return;
      shown = key;
      const rows = page.items.map((s) =>
        el(
          'tr',
          { class: 'swarm', 'data-id': s.id },
          el('td', {}, link(`/swarms/${s.id}`, s.name)),
          el('td', {}, s.topology),
          el('td', {}, status(s.status)),
          el('td', {}, `${Math.round(s.progress * 100)}%`),
          el('td', { class: 'num' }, count(s.usage.inputTokens + s.usage.outputTokens)),
          el('td', {}, time(s.createdAt)),
        ),
      );
      list.replaceChildren(
        page.items.length === 0
          ? el('p', { class: 'empty' }, 'No swarms yet: start one above.')
          : table(['Name', 'Topology', 'Status', 'Progress', 'Tokens', 'Created'], rows, { id: 'swarm-table' }),
        pager(page, offset) ?? '',
      );
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  await refresh();
  const off = ctx.live.on((e) => e.type.startsWith('swarm.'), coalesce(refresh));
  return off;
}

function pager(page, offset) {
  const prev = offset > 0 ? link(`/swarms?offset=${Math.max(0, offset - PAGE_SIZE)}`, '← newer') : null;
  const next = offset + PAGE_SIZE < page.total ? link(`/swarms?offset=${offset + PAGE_SIZE}`, 'older →') : null;
  if (!prev && !next) return null;
  return el('nav', { class: 'pager', 'aria-label': 'Swarm pages' }, prev, ` ${offset + 1}–${Math.min(page.total, offset + PAGE_SIZE)} of ${page.total} `, next);
}
