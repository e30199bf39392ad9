// The Colony dashboard: a page over the REST API and the WebSocket event stream, nothing more. It
// keeps no state the server does not have; every value shown comes from /api/v2. Text from the API is
// always set with textContent, never parsed as HTML.

const API = '/api/v2';
const REFRESH_MS = 3_000;
const MAX_EVENTS = 60;
const KEY_STORAGE = 'colony.apiKey';

let selectedSwarm = null;
let refreshQueued = false;
/** The last event shown: a reconnect replays from it, so nothing is missed. */
let lastEventId = null;

const $ = (id) => document.getElementById(id);

/** What each container last showed: unchanged data is not redrawn (no flicker, and clicks land). */
const shown = new Map();

function render(container, data, build) {
  const key = JSON.stringify(data);
  if (shown.get(container) === key) return;
  shown.set(container, key);
  container.replaceChildren(...build());
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

function apiKey() {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = !message;
}

/** A call to the API; a problem document becomes an Error with its detail. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (apiKey()) headers.authorization = `Bearer ${apiKey()}`;
  const response = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) $('key-form').hidden = false;
  if (!response.ok) throw new Error(data?.detail ?? `${method} ${path}: HTTP ${response.status}`);
  return data;
}

const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '');

// ---- summary, swarms, tasks ----

async function refreshSummary() {
  const status = await api('GET', '/system/status');
  const tasks = status.tasks ?? {};
  const parts = [
    `${status.runners?.length ?? 0} runner${status.runners?.length === 1 ? '' : 's'}`,
    `tasks: ${tasks.running ?? 0} running, ${tasks.queued ?? 0} queued, ${tasks.completed ?? 0} completed, ${tasks.failed ?? 0} failed`,
    `${status.agents?.active ?? 0} active agents`,
  ];
  $('summary').textContent = parts.join(' · ');
  showSandbox(status.sandbox);
}

/** Shell commands outside the OS sandbox are said loudly: a banner until the server has one. */
function showSandbox(sandbox) {
  const banner = $('sandbox-warning');
  const degraded = sandbox?.degraded === true;
  banner.hidden = !degraded;
  banner.textContent = degraded ? `No OS sandbox: agents' shell commands run on the host, held back only by the command policy. ${sandbox.reason ?? ''}` : '';
}

async function refreshSwarms() {
  const { items } = await api('GET', '/swarms?limit=20');
  render($('swarm-rows'), [items, selectedSwarm], () =>
    items.length === 0
      ? [el('tr', {}, el('td', { colspan: '6', class: 'empty' }, 'no swarms yet'))]
      : items.map((s) =>
          el(
            'tr',
            { class: `swarm${s.id === selectedSwarm ? ' selected' : ''}`, 'data-id': s.id, onclick: () => selectSwarm(s.id) },
            el('td', {}, s.name),
            el('td', {}, s.topology),
            el('td', { class: `status-${s.status}` }, s.status),
            el('td', {}, `${Math.round(s.progress * 100)}%`),
            el('td', {}, s.usage.inputTokens + s.usage.outputTokens),
            el('td', {}, time(s.createdAt)),
          ),
        ),
  );
  if (selectedSwarm) await renderSwarmDetail(selectedSwarm);
}

async function refreshTasks() {
  const { items } = await api('GET', '/tasks?limit=15&sort=-createdAt');
  render($('task-rows'), items, () =>
    items.map((t) =>
      el('tr', {}, el('td', {}, t.name ?? t.id), el('td', {}, t.type), el('td', { class: `status-${t.status}` }, t.status), el('td', {}, t.assignedAgent ?? ''), el('td', {}, time(t.updatedAt))),
    ),
  );
}

async function refreshAgents() {
  const { items } = await api('GET', '/agents?limit=50');
  render($('agent-rows'), items, () =>
    items.length === 0
      ? [el('tr', {}, el('td', { colspan: '5', class: 'empty' }, 'no active agents'))]
      : items.map((a) =>
          el('tr', { 'data-id': a.id }, el('td', {}, a.name), el('td', {}, a.type), el('td', { class: `status-${a.status}` }, a.status), el('td', {}, a.health), el('td', {}, a.currentTasks.length)),
        ),
  );
}

async function selectSwarm(id) {
  selectedSwarm = id;
  for (const row of document.querySelectorAll('tr.swarm')) row.classList.toggle('selected', row.dataset.id === id);
  await renderSwarmDetail(id);
}

async function renderSwarmDetail(id) {
  const report = await api('GET', `/swarms/${id}/status`);
  const s = report.swarm;
  const finished = ['completed', 'failed', 'stopped'].includes(s.status);
  const control = (action) =>
    el('button', { type: 'button', 'data-action': action, onclick: () => controlSwarm(id, action) }, action);
  const detail = $('swarm-detail');
  detail.hidden = false;
  render(detail, report, () => [
    el('h3', {}, `${s.name} `, el('span', { class: `status-${s.status}` }, s.status)),
    el('p', {}, s.objective),
    el('p', { class: 'muted', id: 'swarm-counts' }, countsText(report)),
    ...(finished ? [] : [el('div', { class: 'controls' }, ...(s.status === 'paused' ? [control('resume')] : [control('pause')]), control('stop'))]),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, el('th', {}, 'Task'), el('th', {}, 'Status'), el('th', {}, 'Agent'), el('th', {}, 'Revisions'))),
      el(
        'tbody',
        { id: 'swarm-task-rows' },
        ...report.tasks.map((t) =>
          el('tr', {}, el('td', {}, t.title), el('td', { class: `status-${t.status}` }, t.status), el('td', {}, t.agentType ? `${t.agentType} ${t.agentId ?? ''}` : ''), el('td', {}, t.revisions)),
        ),
      ),
    ),
    ...(s.error ? [el('p', { class: 'status-failed' }, `${s.error.code}: ${s.error.message}`)] : []),
    ...(s.result ? [el('h4', {}, s.result.partial ? 'Result (partial)' : 'Result'), el('pre', { id: 'swarm-result' }, s.result.summary)] : []),
    ...(report.proposals.length > 0
      ? [el('h4', {}, 'Votes'), el('ul', { id: 'swarm-votes' }, ...report.proposals.map((p) => el('li', { 'data-id': p.id }, voteText(p, report.tasks))))]
      : []),
  ]);
}

/** Progress is completed work; the other outcomes are counted beside it. */
function countsText(report) {
  const total = report.tasks.length;
  const counts = Object.entries(report.counts)
    .filter(([status, n]) => n > 0 && status !== 'completed')
    .map(([status, n]) => `${n} ${status}`);
  return total === 0 ? 'no plan yet' : [`${report.counts.completed ?? 0} of ${total} completed`, ...counts].join(', ');
}

/** A vote in words: the task whose result it judges (else its question) and what was decided. */
function voteText(p, tasks) {
  const task = p.taskId ? tasks.find((t) => t.taskId === p.taskId) : undefined;
  const subject = p.taskId ? `vote on "${task?.title ?? p.taskId}"` : `vote "${p.question}"`;
  if (p.status === 'open') return `${subject}: voting`;
  const decision = p.outcome?.decision;
  if (!decision) return `${subject}: no decision, ${p.status.replace('_', ' ')}${p.outcome?.reason ? ` (${p.outcome.reason})` : ''}`;
  const meaning = !p.taskId ? '' : p.status === 'rejected' ? ': the result is rejected' : decision === 'approve' ? ': the result is accepted' : '';
  return `${subject} decided ${decision}${meaning} (${Math.round((p.outcome?.ratio ?? 0) * 100)}% of the votes)`;
}

async function controlSwarm(id, action) {
  try {
    await api('POST', `/swarms/${id}/control`, { action });
    showError('');
    await refreshSwarms();
  } catch (error) {
    showError(error.message);
  }
}

// ---- new swarm ----

async function createSwarm(event) {
  event.preventDefault();
  const form = event.target;
  const spec = { objective: form.objective.value, topology: form.topology.value, review: form.review.checked };
  if (form.agents.value) spec.agents = Number(form.agents.value);
  if (form.maxTokens.value) spec.maxTokens = Number(form.maxTokens.value);
  if (form.plan.value.trim()) {
    try {
      spec.plan = JSON.parse(form.plan.value);
    } catch (error) {
      showError(`plan: not valid JSON (${error.message})`);
      return;
    }
  }
  try {
    const swarm = await api('POST', '/swarms', spec);
    showError('');
    form.objective.value = '';
    selectedSwarm = swarm.id;
    await refreshSwarms();
  } catch (error) {
    showError(error.message);
  }
}

// ---- live events ----

function connectEvents() {
  const params = new URLSearchParams();
  if (apiKey()) params.set('access_token', apiKey());
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${API}/events/stream${params.size ? `?${params}` : ''}`;
  const socket = new WebSocket(url);
  socket.addEventListener('open', () => {
    socket.send(JSON.stringify({ type: 'subscribe', ...(lastEventId === null ? {} : { lastEventId }) }));
  });
  socket.addEventListener('message', (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === 'subscribed') $('stream-state').textContent = '(live)';
    if (frame.type !== 'event') return;
    const e = frame.event;
    lastEventId = e.id;
    const list = $('event-list');
    list.prepend(el('li', { 'data-type': e.type }, `${time(e.timestamp)} ${e.type} ${e.correlationId ?? ''}`));
    while (list.children.length > MAX_EVENTS) list.lastChild.remove();
    if (e.type.startsWith('swarm.') || e.type.startsWith('task.') || e.type.startsWith('agent.spawned') || e.type === 'agent.terminated') queueRefresh();
  });
  socket.addEventListener('close', () => {
    $('stream-state').textContent = '(offline, reconnecting)';
    setTimeout(connectEvents, REFRESH_MS);
  });
}

/** Events come in bursts: one refresh per burst. */
function queueRefresh() {
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(() => {
    refreshQueued = false;
    void refreshAll();
  }, 200);
}

async function refreshAll() {
  try {
    await Promise.all([refreshSummary(), refreshSwarms(), refreshTasks(), refreshAgents()]);
  } catch (error) {
    showError(error.message);
  }
}

$('swarm-form').addEventListener('submit', createSwarm);
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  localStorage.setItem(KEY_STORAGE, $('key').value.trim());
  $('key-form').hidden = true;
  showError('');
  void refreshAll();
});
void refreshAll();
connectEvents();
setInterval(() => void refreshAll(), REFRESH_MS);
