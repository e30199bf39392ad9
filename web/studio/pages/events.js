// The event log (/events): newest first with payloads, filtered by type (exact or a prefix such as
// `task.*`) and correlation id (both in the URL query, so a view can be shared), older events paged
// back from the server, and the live feed on top, which can be paused: while paused, new events are
// counted and held, and shown on resume.

import { el } from '../lib/dom.js';
import { query } from '../lib/api.js';
import { eventLine } from '../components/event-line.js';
import { filterForm } from '../components/filter-form.js';

export const title = 'Events';

const PAGE_SIZE = 100;
/** Suggested in the type filter (any exact type or prefix works). */
const TYPE_PREFIXES = ['task.*', 'agent.*', 'swarm.*', 'consensus.*', 'vote.*', 'llm.*', 'provider.*', 'memory.*', 'workflow.*', 'limit.*', 'colony.*'];
/** Events kept on screen: live events push the oldest out (they stay a click away, paged back). */
const MAX_SHOWN = 500;
/** Events held while paused; past it only the count goes on, and resume reloads the newest page. */
const MAX_HELD = 1_000;

/** Whether an event passes the filter: a type list of exact types and `prefix.*`, and a correlation id. */
export function matcher(types, correlationId) {
  const wanted = types.filter((t) => t && t !== '*');
  return (e) =>
    (!correlationId || e.correlationId === correlationId) &&
    (wanted.length === 0 || wanted.some((t) => (t.endsWith('.*') ? e.type.startsWith(t.slice(0, -1)) : e.type === t)));
}

export async function mount(view, ctx) {
  const types = (ctx.query.get('types') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const correlationId = ctx.query.get('correlationId') ?? '';
  const list = el('ol', { id: 'event-log', class: 'event-list' });
  const state = el('span', { id: 'feed-state', role: 'status' });
  const pauseButton = el('button', { type: 'button', id: 'feed-pause', 'aria-pressed': 'false', onclick: () => toggle() }, 'Pause');
  const olderButton = el('button', { type: 'button', id: 'older-events', onclick: () => void older() }, 'Older events');
  view.append(
    el('h1', {}, 'Events'),
    el(
      'section',
      { class: 'panel' },
      el('h2', {}, 'Filter'),
      filterForm(
        ctx,
        '/events',
        [
          { name: 'types', label: 'Types', type: 'text', placeholder: 'task.*, swarm.finished', suggestions: TYPE_PREFIXES },
          { name: 'correlationId', label: 'Correlation id', type: 'text', placeholder: 'a swarm, task, workflow or agent id' },
        ],
        { id: 'event-filters' },
      ),
    ),
    el('section', { class: 'panel' }, el('div', { class: 'feed-bar' }, el('h2', {}, 'Log, newest first'), pauseButton, state), list, el('div', { class: 'controls' }, olderButton)),
  );

  const filter = { types: types.length ? types.join(',') : undefined, correlationId: correlationId || undefined };
  const matches = matcher(types, correlationId);
  const shownIds = new Set();
  let paused = false;
  let held = [];
  let heldCount = 0;
  let oldestId = null;

  function say() {
    state.textContent = paused ? `Paused: ${heldCount} new event${heldCount === 1 ? '' : 's'} held` : 'Live: new events appear at the top';
    pauseButton.textContent = paused ? 'Resume' : 'Pause';
    pauseButton.setAttribute('aria-pressed', String(paused));
  }

  function showNewest(events) {
    const fresh = events.filter((e) => !shownIds.has(e.id));
    for (const e of fresh) shownIds.add(e.id);
    list.prepend(...fresh.sort((a, b) => b.id - a.id).map(eventLine));
    while (list.children.length > MAX_SHOWN) {
      shownIds.delete(Number(list.lastElementChild.dataset.id));
      list.lastElementChild.remove();
      oldestId = Number(list.lastElementChild.dataset.id);
      olderButton.hidden = false;
    }
  }

  async function older() {
    try {
      const page = await ctx.api.get(`/events${query({ ...filter, order: 'desc', limit: PAGE_SIZE, beforeId: oldestId ?? undefined })}`);
      const fresh = page.items.filter((e) => !shownIds.has(e.id));
      for (const e of fresh) shownIds.add(e.id);
      list.append(...fresh.map(eventLine));
      if (page.items.length) oldestId = page.items[page.items.length - 1].id;
      olderButton.hidden = page.items.length < PAGE_SIZE;
      if (list.children.length === 0 && !view.querySelector('#no-events')) list.after(el('p', { class: 'empty', id: 'no-events' }, 'No events match.'));
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  async function reload() {
    list.replaceChildren();
    shownIds.clear();
    oldestId = null;
    view.querySelector('#no-events')?.remove();
    await older();
  }

  function toggle() {
    paused = !paused;
    if (!paused) {
      const events = held;
      const overflowed = heldCount > events.length;
      held = [];
      heldCount = 0;
      if (overflowed) void reload();
      else showNewest(events);
    }
    say();
  }

  say();
  // Subscribed before the first page is read, so nothing falls between them (duplicates are skipped by id).
  const off = ctx.live.on(matches, (event) => {
    if (!paused) {
      view.querySelector('#no-events')?.remove();
      showNewest([event]);
      return;
    }
    heldCount++;
    if (held.length < MAX_HELD) held.push(event);
    say();
  });
  await older();
  return off;
}
