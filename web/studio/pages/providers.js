// Providers (/providers): each configured LLM provider, its circuit breaker in every live process
// (state, since when, which process), what swarms' calls through it used, how long they took and
// how many failed, and a test call (operator).

import { el, section, count, duration, dollars, dateTime } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';
import { dataTable } from '../components/data-table.js';
import { unlessFocusedIn } from '../components/focus-guard.js';
import { callerRole, mayAct } from '../components/caller-role.js';

export const title = 'Providers';

/** A breaker state as a status word (`open` is bad for a breaker, unlike for a proposal). */
const breaker = (state) => (state ? el('span', { class: `status breaker-${state}` }, state) : el('span', { class: 'muted' }, 'not used yet'));
/** Dollars, with calls of models whose price is unknown said apart (they are not in the sum). */
function spend(u) {
  if (u.unpricedCalls === 0) return dollars(u.costUsd);
  const unpriced = `${count(u.unpricedCalls)} call${u.unpricedCalls === 1 ? '' : 's'} of unpriced models`;
  return u.costUsd === 0 ? `unknown (${unpriced})` : `${dollars(u.costUsd)} + ${unpriced}`;
}
const owner = (r) => `${r.kind} pid ${r.pid} on ${r.host}`;

/** Calls per provider and model; the ledger's rows (swarms' calls) also have failures, calls in flight and latency. */
function callsTable(items, { id, caption, empty, ledger }) {
  if (items.length === 0) return el('p', { class: 'empty' }, empty);
  const headers = ['Provider', 'Model', 'Calls', ...(ledger ? ['Failed', 'In flight'] : []), 'Tokens in', 'Tokens out', 'Spend', ...(ledger ? ['Mean latency'] : []), 'Last call'];
  const num = (value) => el('td', { class: 'num' }, value);
  const rows = items.map((u) =>
    el(
      'tr',
      { 'data-provider': u.provider, 'data-model': u.model },
      el('td', {}, u.provider),
      el('td', {}, u.model),
      num(count(u.calls)),
      ledger ? [num(count(u.failed)), num(count(u.openCalls))] : null,
      num(count(u.inputTokens)),
      num(count(u.outputTokens)),
      num(spend(u)),
      ledger ? num(u.meanLatencyMs === null ? '—' : duration(u.meanLatencyMs)) : null,
      el('td', {}, dateTime(u.lastCallAt)),
    ),
  );
  return dataTable(caption, headers, rows, { id });
}

export async function mount(view, ctx) {
  const role = await callerRole(ctx.api);
  const list = el('div', { id: 'provider-list' });
  const circuits = el('div', { id: 'provider-circuits' });
  const usage = el('div', { id: 'provider-usage' });
  const agentUsage = el('div', { id: 'provider-agent-usage' });
  const testResult = el('div', { id: 'provider-test-result', 'aria-live': 'polite' });
  view.append(
    el('h1', {}, 'Providers'),
    section('Configured providers', list, testResult),
    section('Circuit breakers in live processes', circuits),
    section('Model calls of agent runs', agentUsage),
    section('Model calls by swarms', usage),
  );

  async function test(id, button) {
    button.disabled = true;
    testResult.replaceChildren(el('p', {}, `Testing ${id}…`));
    try {
      const r = await ctx.api.post(`/providers/${encodeURIComponent(id)}/test`);
      testResult.replaceChildren(
        el(
          'p',
          { class: r.ok ? 'status-completed' : 'status-failed', 'data-provider': id, 'data-ok': String(r.ok) },
          r.ok
            ? `${id} (${r.model}) answered in ${duration(r.latencyMs)}: “${r.reply ?? ''}” (${count(r.usage?.inputTokens)} tokens in, ${count(r.usage?.outputTokens)} out)`
            : `${id} (${r.model}) failed after ${duration(r.latencyMs)}: ${r.error?.code}: ${r.error?.message}`,
        ),
      );
      await refresh();
    } catch (error) {
      ctx.showError(error.message);
      testResult.replaceChildren();
    } finally {
      button.disabled = false;
    }
  }

  async function refresh() {
    const [providers, system, calls] = await Promise.all([ctx.api.get('/providers'), ctx.api.get('/system/status'), ctx.api.get('/providers/usage')]);
    const canTest = mayAct(role, 'operator');
    list.replaceChildren(
      dataTable(
        'Configured providers',
        ['Provider', 'Model', 'Endpoint', 'Key', 'Breaker here', canTest ? 'Test' : null].filter(Boolean),
        providers.items.map((p) => {
          const button = el('button', { type: 'button', 'data-test': p.id, 'aria-label': `Test ${p.id}` }, 'Test');
          button.addEventListener('click', () => test(p.id, button));
          return el(
            'tr',
            { 'data-provider': p.id },
            el('td', {}, p.id, p.default ? el('span', { class: 'muted' }, ' (default)') : null),
            el('td', {}, p.model ?? 'provider default'),
            el('td', {}, p.baseUrl ?? 'standard'),
            el('td', {}, p.keyConfigured ? 'configured' : el('span', { class: 'status-failed' }, 'missing')),
            el('td', { class: 'breaker' }, breaker(p.breaker)),
            canTest ? el('td', {}, button) : null,
          );
        }),
        { id: 'provider-table' },
      ),
    );
    if (!canTest) list.append(el('p', { class: 'muted' }, 'Testing a provider needs the operator role.'));
    const live = system.providerCircuits;
    circuits.replaceChildren(
      live.length === 0
        ? el('p', { class: 'empty' }, 'Every live process has its breakers closed: a process reports a breaker when it opens (and again when it closes).')
        : dataTable(
            'Circuit breakers',
            ['Provider', 'State', 'For', 'Since', 'Process'],
            live.map((c) =>
              el(
                'tr',
                { 'data-provider': c.provider, 'data-state': c.state },
                el('td', {}, c.provider),
                el('td', {}, breaker(c.state)),
                el('td', {}, duration(c.ageMs)),
                el('td', {}, dateTime(c.since)),
                el('td', {}, owner(c.runner)),
              ),
            ),
            { id: 'circuit-table' },
          ),
    );
    usage.replaceChildren(
      el('p', { class: 'muted' }, 'From the model-call ledger: every call made for a swarm, by every process. A call that ended having used no tokens is counted as failed.'),
      callsTable(calls.items, { id: 'usage-table', caption: 'Model calls by provider', empty: 'No model calls yet.', ledger: true }),
    );
    agentUsage.replaceChildren(
      el('p', { class: 'muted' }, "From every agent run's usage metrics, swarm or not, by every process: calls that returned, their tokens and estimated spend."),
      callsTable(calls.agentCalls, { id: 'agent-usage-table', caption: 'Model calls of agent runs by provider', empty: 'No agent has called a model yet.', ledger: false }),
    );
  }

  try {
    await refresh();
  } catch (error) {
    ctx.showError(error.message);
  }
  const guarded = unlessFocusedIn(view, () => refresh().catch((error) => ctx.showError(error.message)));
  const off = ctx.live.on((e) => e.type === 'provider.state_changed' || e.type === 'llm.usage', coalesce(guarded, 2_000));
  return () => {
    off();
    guarded.stop();
  };
}
