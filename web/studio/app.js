// Colony Studio: a page over the REST API and the WebSocket event stream, nothing more. It keeps no
// state the server does not have. Each page is a module in pages/ that exports
//   title: string            the page's name (document title, nav label)
//   mount(view, ctx)         draws into `view`; returns a cleanup function (or nothing)
// ctx: { params, query, api, live, navigate, showError, refreshSummary }. Routes are real URLs the
// server answers with this same page (src/api/routes/studio.ts, STUDIO_PAGES).

import { api, setApiKey } from './lib/api.js';
import { createLive } from './lib/live.js';

const SUMMARY_REFRESH_MS = 5_000;

/** pattern, page module, nav label (none: not in the nav). Order matters: first match wins. */
const ROUTES = [
  { pattern: '/', load: () => import('./pages/home.js'), nav: 'Swarms' },
  { pattern: '/swarms', load: () => import('./pages/home.js') },
  { pattern: '/swarms/:id', load: () => import('./pages/swarm.js') },
  { pattern: '/tasks', load: () => import('./pages/tasks.js'), nav: 'Tasks' },
  { pattern: '/tasks/:id', load: () => import('./pages/task.js') },
  { pattern: '/agents', load: () => import('./pages/agents.js'), nav: 'Agents' },
  { pattern: '/memory', load: () => import('./pages/memory.js'), nav: 'Memory' },
  { pattern: '/consensus', load: () => import('./pages/consensus.js'), nav: 'Votes' },
  { pattern: '/providers', load: () => import('./pages/providers.js'), nav: 'Providers' },
  { pattern: '/events', load: () => import('./pages/events.js'), nav: 'Events' },
  { pattern: '/system', load: () => import('./pages/system.js'), nav: 'System' },
  { pattern: '/keys', load: () => import('./pages/keys.js'), nav: 'API keys' },
];

const $ = (id) => document.getElementById(id);

function matchRoute(pathname) {
  const parts = pathname.replace(/\/+$/, '').split('/').filter(Boolean);
  for (const route of ROUTES) {
    const pattern = route.pattern.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    if (pattern.every((p, i) => (p.startsWith(':') ? ((params[p.slice(1)] = decodeURIComponent(parts[i])), true) : p === parts[i]))) return { route, params };
  }
  return null;
}

export function showError(message) {
  const box = $('error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

/** Shell commands outside the OS sandbox are said loudly: a banner until the server has one. */
function showSandbox(sandbox) {
  const banner = $('sandbox-warning');
  const degraded = sandbox?.degraded === true;
  banner.hidden = !degraded;
  banner.textContent = degraded ? `No OS sandbox: agents' shell commands run on the host, held back only by the command policy. ${sandbox.reason ?? ''}` : '';
}

async function refreshSummary() {
  try {
    const status = await api.get('/system/status');
    const tasks = status.tasks ?? {};
    const runners = status.runners?.length ?? 0;
    $('summary').textContent = [
      `${runners} runner${runners === 1 ? '' : 's'}`,
      `tasks: ${tasks.running ?? 0} running, ${tasks.queued ?? 0} queued, ${tasks.completed ?? 0} completed, ${tasks.failed ?? 0} failed`,
      `${status.agents?.active ?? 0} active agents`,
    ].join(' · ');
    showSandbox(status.sandbox);
  } catch (error) {
    showError(error.message);
  }
}

function renderNav(pathname) {
  const items = ROUTES.filter((r) => r.nav);
  $('nav').replaceChildren(
    ...items.map((r) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = r.pattern;
      a.textContent = r.nav;
      const current = r.pattern === '/' ? pathname === '/' || pathname.startsWith('/swarms') : pathname.startsWith(r.pattern);
      if (current) a.setAttribute('aria-current', 'page');
      li.append(a);
      return li;
    }),
  );
}

const live = createLive((state) => {
  $('stream-state').textContent = `(${state})`;
});
let cleanup = null;
let generation = 0;

async function show() {
  const url = new URL(location.href);
  const gen = ++generation;
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  showError('');
  renderNav(url.pathname);
  const view = $('view');
  // Busy until the page has drawn its first data (assistive technology waits; so does bench/studio.bench.js).
  view.setAttribute('aria-busy', 'true');
  const found = matchRoute(url.pathname);
  if (!found) {
    document.title = 'Not found · Colony Studio';
    view.replaceChildren(Object.assign(document.createElement('h1'), { textContent: 'No such page' }));
    view.removeAttribute('aria-busy');
    return;
  }
  const page = await found.route.load();
  if (gen !== generation) return;
  document.title = `${page.title} · Colony Studio`;
  view.replaceChildren();
  const ctx = { params: found.params, query: url.searchParams, api, live, navigate, showError, refreshSummary };
  try {
    cleanup = (await page.mount(view, ctx)) ?? null;
  } catch (error) {
    showError(error.message);
  } finally {
    if (gen === generation) view.removeAttribute('aria-busy');
  }
}

export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  void show();
  $('view').focus({ preventScroll: true });
}

// Same-origin links to Studio pages are handled here; anything else (API docs, new tabs) is left alone.
document.addEventListener('click', (event) => {
  const a = event.target instanceof Element ? event.target.closest('a[href]') : null;
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || !matchRoute(url.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', () => void show());

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setApiKey($('key').value.trim());
  $('key-form').hidden = true;
  showError('');
  location.reload();
});

void refreshSummary();
setInterval(() => void refreshSummary(), SUMMARY_REFRESH_MS);
void show();
