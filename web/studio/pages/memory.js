// Memory (/memory): namespaces with their entry counts, the entries of one (paginated), search by
// keyword, vector or both with the embedder named, one entry (?namespace=&key=) and its deletion.

import { el, link, section, count, dateTime } from '../lib/dom.js';
import { query } from '../lib/api.js';
import { coalesce } from '../lib/live.js';
import { dataTable } from '../components/data-table.js';
import { unlessFocusedIn } from '../components/focus-guard.js';
import { pager, offsetFrom } from '../components/pager.js';
import { confirmButton } from '../components/confirm-button.js';
import { callerRole, mayAct } from '../components/caller-role.js';

export const title = 'Memory';

const PAGE_SIZE = 25;
const SEARCH_LIMIT = 25;
const MODES = [
  ['hybrid', 'hybrid (keyword + vector)'],
  ['keyword', 'keyword (BM25)'],
  ['vector', 'vector (nearest embeddings)'],
];

const entryHref = (namespace, key) => `/memory${query({ namespace, key })}`;
const preview = (value) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};

export async function mount(view, ctx) {
  const namespace = ctx.query.get('namespace') ?? '';
  const key = ctx.query.get('key');
  const q = ctx.query.get('q') ?? '';
  const mode = ctx.query.get('mode') ?? 'hybrid';
  const [overview, role] = await Promise.all([ctx.api.get('/memory-namespaces'), callerRole(ctx.api)]);
  const embedder = overview.embedder;
  const namespaces = el('div', { id: 'memory-namespace-box' }, namespaceChips(overview, namespace));
  const content = el('div', { id: 'memory-content' });

  view.append(
    el('h1', {}, 'Memory'),
    section(
      'Namespaces',
      el('p', { class: 'muted', id: 'memory-embedder' }, embedder ? `Vector search embedder: ${embedder.label}` : 'No embedder configured: search is by keyword only.'),
      namespaces,
    ),
    searchForm(ctx, namespace, q, mode, embedder),
    content,
  );

  async function showContent() {
    if (key !== null) content.replaceChildren(await entryView(ctx, namespace || 'default', key, role));
    else if (q) content.replaceChildren(await searchResults(ctx, namespace, q, mode));
    else content.replaceChildren(await entryList(ctx, namespace));
  }

  try {
    await showContent();
  } catch (error) {
    ctx.showError(error.message);
  }

  // Writes elsewhere update the counts and the listing; an open entry or search result stays as it
  // is (re-reading an entry counts as a read), and nothing is redrawn under a keyboard user's focus.
  async function refresh() {
    try {
      namespaces.replaceChildren(namespaceChips(await ctx.api.get('/memory-namespaces'), namespace));
      if (key === null && !q) await showContent();
    } catch (error) {
      ctx.showError(error.message);
    }
  }
  const guarded = unlessFocusedIn(view, refresh);
  const off = ctx.live.on((e) => e.type.startsWith('memory.'), coalesce(guarded, 1_000));
  return () => {
    off();
    guarded.stop();
  };
}

function namespaceChips(overview, namespace) {
  if (overview.items.length === 0) return el('p', { class: 'empty' }, 'Memory is empty.');
  return el(
    'ul',
    { class: 'chips', id: 'memory-namespaces' },
    el('li', {}, namespace ? link('/memory', `all (${count(overview.entries)})`) : el('strong', {}, `all (${count(overview.entries)})`)),
    ...overview.items.map((n) =>
      el('li', { 'data-namespace': n.namespace }, n.namespace === namespace ? el('strong', { 'aria-current': 'true' }, `${n.namespace} (${count(n.entries)})`) : link(`/memory${query({ namespace: n.namespace })}`, `${n.namespace} (${count(n.entries)})`)),
    ),
  );
}

function searchForm(ctx, namespace, q, mode, embedder) {
  const modes = embedder ? MODES : MODES.filter(([m]) => m === 'keyword');
  const form = el(
    'form',
    { id: 'memory-search', class: 'row', role: 'search', 'aria-label': 'Search memory' },
    el('label', { class: 'grow' }, 'Search ', el('input', { name: 'q', type: 'search', value: q, required: true, placeholder: 'words to find' })),
    el('label', {}, 'Mode ', el('select', { name: 'mode' }, ...modes.map(([value, text]) => el('option', { value, selected: value === mode }, text)))),
    el('button', { type: 'submit' }, namespace ? `Search ${namespace}` : 'Search all namespaces'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.navigate(`/memory${query({ namespace, q: form.elements.q.value.trim(), mode: form.elements.mode.value })}`);
  });
  return section('Search', form);
}

async function searchResults(ctx, namespace, q, mode) {
  const found = await ctx.api.get(`/memory${query({ namespace, q, mode, limit: SEARCH_LIMIT })}`);
  const rows = found.items.map((hit) =>
    el(
      'tr',
      { 'data-key': hit.entry.key, 'data-namespace': hit.entry.namespace },
      el('td', {}, link(entryHref(hit.entry.namespace, hit.entry.key), hit.entry.key)),
      el('td', {}, hit.entry.namespace),
      el('td', { class: 'num' }, hit.score.toFixed(3)),
      el('td', {}, hit.matchedBy.join(' + ')),
      el('td', {}, preview(hit.entry.value)),
    ),
  );
  return section(
    `Results for “${found.query}”`,
    el('p', { class: 'muted', id: 'memory-search-mode' }, `${found.mode} search${found.embedder ? `, embedder ${found.embedder.label}` : ' (no embedder involved)'}; best first.`),
    rows.length === 0 ? el('p', { class: 'empty' }, 'Nothing found.') : dataTable('Search results', ['Key', 'Namespace', 'Score', 'Matched by', 'Value'], rows, { id: 'memory-results' }),
  );
}

async function entryList(ctx, namespace) {
  const offset = offsetFrom(ctx.query);
  const page = await ctx.api.get(`/memory${query({ namespace, limit: PAGE_SIZE, offset })}`);
  const rows = page.items.map((e) =>
    el(
      'tr',
      { 'data-key': e.key, 'data-namespace': e.namespace },
      el('td', {}, link(entryHref(e.namespace, e.key), e.key)),
      namespace ? null : el('td', {}, e.namespace),
      el('td', { class: 'num' }, e.version),
      el('td', {}, e.tags.join(', ')),
      el('td', {}, preview(e.value)),
      el('td', {}, dateTime(e.updatedAt)),
    ),
  );
  const headers = ['Key', ...(namespace ? [] : ['Namespace']), 'Version', 'Tags', 'Value', 'Updated'];
  return section(
    namespace ? `Entries in ${namespace}` : 'Entries',
    rows.length === 0 ? el('p', { class: 'empty' }, 'No entries.') : dataTable('Entries', headers, rows, { id: 'memory-entries' }),
    pager('/memory', ctx.query, page, 'Entry pages'),
  );
}

async function entryView(ctx, namespace, key, role) {
  const e = await ctx.api.get(`/memory/${encodeURIComponent(key)}${query({ namespace })}`);
  const remove = mayAct(role, 'operator')
    ? confirmButton({
        label: 'Delete entry',
        question: `Delete ${e.namespace}/${e.key}? This cannot be undone.`,
        confirmLabel: 'Yes, delete',
        attrs: { id: 'memory-delete' },
        onError: (error) => ctx.showError(error.message),
        action: async () => {
          await ctx.api.del(`/memory/${encodeURIComponent(e.key)}${query({ namespace: e.namespace, expectedVersion: e.version })}`);
          ctx.navigate(`/memory${query({ namespace: e.namespace })}`);
        },
      })
    : el('p', { class: 'muted' }, 'Deleting an entry needs the operator role.');
  return el(
    'section',
    { class: 'panel', id: 'memory-entry', 'aria-labelledby': 'memory-entry-title' },
    el('h2', { id: 'memory-entry-title' }, `${e.namespace} / ${e.key}`),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Version'),
      el('dd', {}, `${e.version} (memory keeps the current version only; each write counts it up)`),
      el('dt', {}, 'Tags'), el('dd', {}, e.tags.join(', ') || 'none'),
      el('dt', {}, 'Created'), el('dd', {}, dateTime(e.createdAt)),
      el('dt', {}, 'Updated'), el('dd', {}, dateTime(e.updatedAt)),
      el('dt', {}, 'Expires'), el('dd', {}, e.expiresAt ? dateTime(e.expiresAt) : 'never'),
      el('dt', {}, 'Reads'), el('dd', {}, e.accessCount > 0 ? `${count(e.accessCount)} (last ${dateTime(e.accessedAt)})` : 'not read yet'),
      el('dt', {}, 'Size'), el('dd', {}, `${count(e.size)} bytes`),
    ),
    el('h3', {}, 'Value'),
    el('pre', { id: 'memory-value', tabindex: 0 }, JSON.stringify(e.value, null, 2)),
    Object.keys(e.metadata).length > 0 ? [el('h3', {}, 'Metadata'), el('pre', { tabindex: 0 }, JSON.stringify(e.metadata, null, 2))] : null,
    el('div', { class: 'controls' }, link(`/memory${query({ namespace: e.namespace })}`, `← ${e.namespace}`), remove),
  );
}
