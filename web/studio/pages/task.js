// One task's page (/tasks/:id): what it was asked, what came out, every attempt, the agent's
// transcript, the files it changed as diffs, timings, cost, the agent and why, and its events.

import { el, link, status, section, dateTime, duration, count, dollars } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';
import { cardTable } from '../components/card-table.js';
import { jsonView } from '../components/json-view.js';
import { transcriptView } from '../components/transcript.js';
import { fileChangesView } from '../components/diff.js';
import { eventLine } from '../components/event-line.js';
import { agentChoice } from '../components/task-choice.js';

export const title = 'Task';

const TERMINAL = ['completed', 'failed', 'cancelled'];

export async function mount(view, ctx) {
  const body = el('div', { id: 'task-detail', class: 'task-page' });
  view.append(body);
  let shown = '';
  let taskId = ctx.params.id;

  async function refresh() {
    let data;
    try {
      const task = await ctx.api.get(`/tasks/${encodeURIComponent(taskId)}`);
      taskId = task.id;
      const path = `/tasks/${encodeURIComponent(task.id)}`;
      const [history, transcript, changes] = await Promise.all([ctx.api.get(`${path}/history`), ctx.api.get(`${path}/transcript`), ctx.api.get(`${path}/changes`)]);
      data = { task, history, transcript, changes };
    } catch (error) {
      ctx.showError(error.message);
      return;
    }
    const key = JSON.stringify(data);
    if (key === shown) return;
    shown = key;
    render(data);
  }

  function render({ task, history, transcript, changes }) {
    const name = task.name ?? task.description ?? task.id;
    document.title = `${name || task.id} · Task · Colony Studio`;
    const parts = [
      el('h1', {}, `Task ${name || task.id} `, status(task.status)),
      el('p', { class: 'muted' }, el('code', {}, task.id), ` · type ${task.type}`, ...contextLinks(task)),
      controls(task),
      el('div', { class: 'grid' }, overview(task, history, transcript.usage), section('Agent', agentPanel(task, history))),
      section('Prompt and input', promptView(task)),
      outcomeView(task),
      section(`Attempts (${history.attempts.length})`, attemptsTable(history.attempts)),
      section('Transcript', transcriptView(transcript.turns)),
      section('File changes', fileChangesView(changes)),
      section(
        `Events (${history.events.length})`,
        history.truncated ? el('p', { class: 'muted' }, 'Only the first events of a long log were read: some may be missing.') : null,
        el('ol', { class: 'event-list', id: 'task-events' }, ...history.events.map((e) => eventLine(e, { self: task.id }))),
      ),
    ];
    // Sections that do not apply are null: left out (replaceChildren would print "null").
    body.replaceChildren(...parts.filter(Boolean));
  }

  function controls(task) {
    const buttons = [];
    if (!TERMINAL.includes(task.status)) buttons.push(el('button', { type: 'button', 'data-action': 'cancel', onclick: () => act('cancel') }, 'Cancel task'));
    if (task.status === 'failed' || task.status === 'cancelled') buttons.push(el('button', { type: 'button', 'data-action': 'retry', onclick: () => act('retry') }, 'Retry task'));
    return buttons.length ? el('div', { class: 'controls' }, ...buttons) : null;
  }

  async function act(action) {
    try {
      await ctx.api.put(`/tasks/${encodeURIComponent(taskId)}`, { action });
      ctx.showError('');
      await refresh();
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  await refresh();
  return ctx.live.on((e) => e.correlationId === taskId || e.data?.taskId === taskId, coalesce(refresh, 300));
}

function contextLinks(task) {
  const out = [];
  if (task.swarmId) out.push(' · swarm ', link(`/swarms/${task.swarmId}`, task.swarmId));
  if (task.workflowId) out.push(' · workflow ', link(`/tasks?workflowId=${encodeURIComponent(task.workflowId)}`, task.workflowId));
  if (task.parentId) out.push(' · parent ', link(`/tasks/${task.parentId}`, task.parentId));
  return out;
}

function dl(pairs) {
  return el('dl', { class: 'facts' }, ...pairs.filter(([, v]) => v !== null && v !== undefined && v !== '').flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function overview(task, history, usage) {
  // A task without dependencies is created queued (no task.queued event then).
  const created = history.events.find((e) => e.type === 'task.created');
  const queuedAt = history.events.find((e) => e.type === 'task.queued')?.timestamp ?? (created?.data.status === 'queued' ? created.timestamp : null);
  const firstStart = history.attempts[0]?.startedAt ?? null;
  const ran = history.attempts.reduce((sum, a) => sum + ((a.finishedAt ?? Date.now()) - a.startedAt), 0);
  const tokens = usage.inputTokens + usage.outputTokens;
  return section(
    'Timings and cost',
    dl([
      ['Created', dateTime(task.createdAt)],
      ['Queued', queuedAt ? dateTime(queuedAt) : null],
      ['Waited to start', queuedAt && firstStart ? duration(firstStart - queuedAt) : null],
      ['Started', task.startedAt ? dateTime(task.startedAt) : 'not yet'],
      ['Finished', task.completedAt ? dateTime(task.completedAt) : null],
      ['Running time', history.attempts.length ? duration(ran) : null],
      ['Created to finished', task.completedAt ? duration(task.completedAt - task.createdAt) : null],
      ['Attempts', `${task.attempts} of at most ${task.maxAttempts}`],
      ['Priority', String(task.priority)],
      ['Tokens', tokens ? `${count(usage.inputTokens)} in, ${count(usage.outputTokens)} out` : 'none recorded'],
      ['Cost', usage.costUsd === null ? (tokens ? 'unknown (no price for the model)' : null) : dollars(usage.costUsd)],
      ['Depends on', task.dependencies.length ? el('span', {}, ...task.dependencies.flatMap((d, i) => [i ? ', ' : '', link(`/tasks/${d}`, d)])) : null],
    ]),
  );
}

function agentPanel(task, history) {
  const agentIds = [...new Set([...history.attempts.map((a) => a.agentId), task.assignedAgent].filter(Boolean))];
  const runners = [...new Set(history.attempts.map((a) => a.runnerId).filter(Boolean))];
  const type = task.result && typeof task.result === 'object' && !Array.isArray(task.result) ? task.result.agentType : undefined;
  return el(
    'div',
    {},
    dl([
      ['Agent', agentIds.length ? el('span', {}, ...agentIds.flatMap((id, i) => [i ? ', ' : '', link(`/agents?id=${encodeURIComponent(id)}`, id)])) : 'none (run by a runner directly)'],
      ['Agent type', typeof type === 'string' ? type : null],
      ['Runner', runners.join(', ') || null],
    ]),
    el('h3', {}, agentIds.length ? 'Why this agent' : 'How it was placed'),
    el('ul', { id: 'agent-choice' }, ...agentChoice(task, history.events).map((r) => el('li', {}, r))),
  );
}

function promptView(task) {
  const input = task.input;
  const prompt = input && typeof input === 'object' && typeof input.prompt === 'string' ? input.prompt : null;
  return el(
    'div',
    {},
    task.description ? el('p', {}, task.description) : null,
    prompt ? el('pre', { id: 'task-prompt' }, prompt) : null,
    el('h3', {}, 'Input'),
    jsonView(input, { label: 'input', open: !prompt }),
  );
}

function outcomeView(task) {
  if (task.error) {
    return section('Error', el('p', { id: 'task-error', class: 'status-failed' }, `${task.error.code} (attempt ${task.error.attempt}): ${task.error.message}`));
  }
  if (task.result === null) return null;
  const r = task.result;
  const main = r && typeof r === 'object' && !Array.isArray(r) && 'result' in r ? r.result : r;
  return section(
    'Output',
    typeof main === 'string' ? el('pre', { id: 'task-output' }, main) : el('div', { id: 'task-output' }, jsonView(main, { label: 'output', open: true })),
    main === r ? null : jsonView(r, { label: 'full result' }),
  );
}

function attemptsTable(attempts) {
  if (attempts.length === 0) return el('p', { class: 'empty' }, 'Not started yet.');
  return cardTable(
    ['#', 'Outcome', 'Runner', 'Agent', 'Started', 'Finished', 'Took', 'Error'],
    attempts.map((a) =>
      el(
        'tr',
        { class: 'attempt', 'data-attempt': a.attempt },
        el('td', { class: 'num' }, String(a.attempt)),
        el('td', {}, status(a.outcome), a.willRetry ? ' (retried)' : ''),
        el('td', {}, a.runnerId ?? ''),
        el('td', {}, a.agentId ? link(`/agents?id=${encodeURIComponent(a.agentId)}`, a.agentId) : ''),
        el('td', {}, dateTime(a.startedAt)),
        el('td', {}, a.finishedAt ? dateTime(a.finishedAt) : ''),
        el('td', {}, a.finishedAt ? duration(a.finishedAt - a.startedAt) : ''),
        el('td', {}, a.error ? `${a.error.code}: ${a.error.message}` : ''),
      ),
    ),
    { id: 'attempts' },
  );
}
