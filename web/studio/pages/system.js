// System (/system): the processes on this database and what each does, the task queue, the
// database, memory's tiers, the shell sandbox, the hooks and the limits holding work back, with every
// degraded mode said in words.

import { el, link, status, section, count, duration, dateTime } from '../lib/dom.js';
import { dataTable } from '../components/data-table.js';
import { unlessFocusedIn } from '../components/focus-guard.js';

export const title = 'System';

const REFRESH_MS = 5_000;
const TASK_ORDER = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'];

const bytes = (n) => (n === null ? 'not known' : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);
const facts = (pairs) => el('dl', { class: 'facts' }, ...pairs.filter(Boolean).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
const degradedNote = (text) => el('p', { class: 'banner warn degraded' }, text);

/** Which failures of a hook block its step, in words. */
const BLOCKS_ON = { 'any-failure': 'any failure', never: 'never (reported only)', 'exit-code-2': 'exit status 2' };
/** The hook points whose hooks match tool names. */
const TOOL_POINTS = ['toolCalling', 'fileEdited'];

/** The configured hooks in the order they run, and how the newest runs of any process went. */
function hooksSection(hooks) {
  const runs = hooks.recentRuns;
  const troubled = runs.failed + runs.timedOut + runs.refused;
  return section(
    'Hooks',
    hooks.configured.length === 0
      ? el('p', { class: 'empty', id: 'no-hooks' }, 'No hooks are configured (hooks: in the configuration, or the hooks of .claude/settings.json).')
      : dataTable(
          'Hooks',
          ['Point', 'Command', 'From', 'Blocks on', 'Tools', 'Agent types', 'Timeout'],
          hooks.configured.map((h) =>
            el(
              'tr',
              { class: 'hook' },
              el('td', {}, h.point),
              el('td', {}, el('code', {}, h.command)),
              el('td', {}, h.source),
              el('td', {}, BLOCKS_ON[h.blocking] ?? h.blocking),
              el('td', {}, TOOL_POINTS.includes(h.point) ? (h.matcher ?? 'every tool') : '—'),
              el('td', {}, h.agentTypes ? h.agentTypes.join(', ') : 'every type'),
              el('td', { class: 'num' }, duration(h.timeoutMs)),
            ),
          ),
          { id: 'hook-table' },
        ),
    el(
      'p',
      { id: 'hook-runs', class: troubled > 0 ? 'banner warn' : 'muted' },
      runs.scanned === 0
        ? 'No hook has run yet.'
        : `Of the newest ${count(runs.scanned)} runs: ${count(runs.failed)} failed, ${count(runs.timedOut)} timed out, ${count(runs.refused)} could not run; ${count(runs.blocked)} blocked their step. The newest: ${dateTime(runs.latestAt)}.`,
    ),
    link('/events?types=hook.ran', 'Hook runs'),
  );
}

export async function mount(view, ctx) {
  const body = el('div', { id: 'system', class: 'stack' });
  view.append(el('h1', {}, 'System'), body);

  async function refresh() {
    let s;
    let health;
    try {
      [s, health] = await Promise.all([ctx.api.get('/system/status'), ctx.api.get('/system/health')]);
    } catch (error) {
      ctx.showError(error.message);
      return;
    }
    const tasks = s.tasks;
    const statuses = [...TASK_ORDER.filter((k) => k in tasks), ...Object.keys(tasks).filter((k) => !TASK_ORDER.includes(k))];
    const db = s.database;
    const migrated = db.schemaVersion === db.latestSchema;
    const store = health.components.store ?? {};
    body.replaceChildren(
      el('p', { id: 'system-health' }, 'Overall: ', status(health.status === 'ok' ? 'healthy' : health.status), health.status === 'ok' ? '' : ' (see the notes below)'),
      el(
        'div',
        { class: 'grid' },
        section(
          'This server',
          facts([
            ['Version', s.version],
            ['Project', el('code', {}, s.projectDir)],
            ['Process', `pid ${s.server.pid}, up ${duration(s.server.uptimeSeconds * 1000)}`],
            ['Runner', el('code', {}, s.server.runnerId)],
            ['API keys', s.server.authRequired ? 'required' : 'not required (loopback, no keys made)'],
            ['Event stream clients', count(s.server.eventStreamClients)],
          ]),
        ),
        section(
          'Database',
          facts([
            ['Kind', db.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'],
            ['Location', el('code', {}, db.path)],
            ['Size', db.kind === 'postgres' ? 'not measured for PostgreSQL' : bytes(db.sizeBytes)],
            ['Migration', migrated ? `${db.schemaVersion} (latest)` : `${db.schemaVersion ?? 'none'}, behind ${db.latestSchema}: run colony db migrate`],
            store.latencyMs === undefined ? null : ['Answers in', `${store.latencyMs} ms`],
          ]),
          migrated ? null : degradedNote('The database is not at the latest migration.'),
        ),
        section(
          'Task queue',
          facts(statuses.map((k) => [k, count(tasks[k])])),
          link('/tasks', 'All tasks'),
        ),
        section(
          'Memory',
          facts([
            ['Tiers', s.memory.tiers.join(', ')],
            ['Redis', s.memory.redis ? `${s.memory.redis.description}: ${s.memory.redis.healthy ? 'answering' : 'not answering'}` : 'not configured'],
          ]),
          s.memory.degraded ? degradedNote(s.memory.summary) : el('p', { class: 'muted' }, s.memory.summary),
          link('/memory', 'Browse memory'),
        ),
        section(
          'Shell sandbox',
          facts([
            ['Configured', s.sandbox?.mode ?? 'unknown'],
            ['Commands run under', s.sandbox?.isolation === 'bwrap' ? (s.sandbox.version ?? 'bubblewrap') : 'the host, with no OS sandbox'],
          ]),
          s.sandbox?.degraded ? degradedNote(`No OS sandbox: agents' shell commands run on the host, held back only by the command policy. ${s.sandbox.reason ?? ''}`) : null,
        ),
        section(
          'Agents',
          facts([['Active', count(s.agents.active)], ...Object.entries(s.agents.byStatus).map(([k, v]) => [k, count(v)])]),
          link('/agents', 'All agents'),
        ),
      ),
      section(
        'Processes',
        el('p', { class: 'muted' }, 'Every live Colony process on this database. Those that do not run tasks only serve.'),
        dataTable(
          'Processes',
          ['Runner', 'Role', 'Kind', 'Runs tasks', 'Host', 'PID', 'Pools', 'Started', 'Last heartbeat'],
          s.runners.map((r) =>
            el(
              'tr',
              { 'data-runner': r.id },
              el('td', {}, el('code', {}, r.id), r.id === s.server.runnerId ? el('span', { class: 'muted' }, ' (this server)') : null),
              el('td', {}, r.role),
              el('td', {}, r.kind),
              el('td', {}, r.runsTasks ? 'yes' : 'no'),
              el('td', {}, r.host ?? '—'),
              el('td', { class: 'num' }, r.pid ?? '—'),
              el('td', {}, r.pools.join(', ') || 'any'),
              el('td', {}, dateTime(r.startedAt)),
              el('td', {}, `${duration(r.heartbeatAgeMs)} ago`),
            ),
          ),
          { id: 'runner-table' },
        ),
      ),
      section(
        'Limits reached',
        s.limitsReached.length === 0
          ? el('p', { class: 'empty', id: 'no-limits' }, 'No limit is holding ready work back now.')
          : dataTable(
              'Limits reached',
              ['Limit', 'Value', 'Provider', 'For', 'Process'],
              s.limitsReached.map((l) =>
                el('tr', {}, el('td', {}, el('code', {}, l.limit)), el('td', { class: 'num' }, l.value), el('td', {}, l.provider ?? '—'), el('td', {}, duration(l.ageMs)), el('td', {}, `${l.runner.kind} pid ${l.runner.pid} on ${l.runner.host}`)),
              ),
              { id: 'limit-table' },
            ),
      ),
      hooksSection(s.hooks),
      section(
        'Provider breakers',
        s.providerCircuits.length === 0
          ? el('p', { class: 'empty' }, 'Every live process has its breakers closed.')
          : el('ul', {}, ...s.providerCircuits.map((c) => el('li', {}, `${c.provider}: `, el('span', { class: `status breaker-${c.state}` }, c.state), ` for ${duration(c.ageMs)} in ${c.runner.kind} pid ${c.runner.pid}`))),
        link('/providers', 'Providers'),
      ),
    );
  }

  await refresh();
  const guarded = unlessFocusedIn(view, refresh);
  const timer = setInterval(guarded, REFRESH_MS);
  return () => {
    clearInterval(timer);
    guarded.stop();
  };
}
