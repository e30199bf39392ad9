// One swarm's page (/swarms/:id): its topology and plan drawn live, a timeline of its task runs, the
// votes on its results, its usage and cost, its result and its controls; and replay, to see it as it
// was at any of its events (?at=<eventId>); in a git repository, its branch and the patch on it.

import { el, status, section, time, duration } from '../lib/dom.js';
import { coalesce } from '../lib/live.js';
import { createTopology } from '../components/topology.js';
import { createPlanDag } from '../components/plan-dag.js';
import { renderGantt } from '../components/gantt.js';
import { renderVotes } from '../components/votes.js';
import { renderUsage } from '../components/usage.js';
import { createReplay } from '../components/replay.js';
import { isReplayEvent, loadEvents, swarmStateAt } from '../components/swarm-state.js';
import { replaceKeepingFocus } from '../components/keep-focus.js';
import { branchModel, branchView, mergeMarks } from '../components/swarm-branch.js';
import { patchView } from '../components/diff.js';

export const title = 'Swarm';

const FINISHED = ['completed', 'failed', 'stopped'];

/** The most of a branch's patch the page fetches: the rest is for git (a patch can be tens of megabytes). */
const PATCH_FETCH_BYTES = 2_000_000;

/** The patch as fetched, saying so when it is only the start of it. */
function shownPatchView(diff) {
  const view = patchView(diff.patch);
  if (!diff.truncated) return view;
  const mb = (bytes) => `${(bytes / 1_000_000).toFixed(1)} MB`;
  return el(
    'div',
    {},
    el('p', { class: 'banner warn', id: 'patch-cut' }, `The patch is ${mb(diff.patchBytes)}: its first ${mb(PATCH_FETCH_BYTES)} are shown. All of it: `, el('code', {}, `git diff ${diff.base} ${diff.branch}`), '.'),
    view,
  );
}

export async function mount(view, ctx) {
  const id = ctx.params.id;
  const enc = encodeURIComponent(id);
  const requestedAt = ctx.query.has('at') ? Number(ctx.query.get('at')) : null;

  const heading = el('h1', {}, el('span', { id: 'swarm-name' }, id), ' ', el('span', { id: 'swarm-status' }));
  const objective = el('p', { id: 'swarm-objective' });
  const meta = el('p', { class: 'muted', id: 'swarm-meta' });
  const controls = el('div', { class: 'controls', id: 'swarm-controls' });
  const buttons = Object.fromEntries(
    ['pause', 'resume', 'stop'].map((action) => [action, el('button', { type: 'button', 'data-action': action, onclick: () => control(action) }, action)]),
  );
  controls.append(buttons.pause, buttons.resume, buttons.stop);
  const replayBox = el('div', { id: 'swarm-replay' });
  const replayNote = el('p', { class: 'replay-note', id: 'replay-note', hidden: true });
  const topologyBox = el('div', { class: 'graph-wrap', id: 'swarm-topology' });
  const planBox = el('div', { class: 'graph-wrap', id: 'swarm-plan' });
  const timelineBox = el('div', { id: 'swarm-timeline' });
  const votesBox = el('div', { id: 'swarm-votes' });
  const usageBox = el('div', { id: 'swarm-usage' });
  const resultBox = el('div', { id: 'swarm-outcome' });
  const branchBox = el('div', { id: 'swarm-branch-summary' });
  const patchBox = el('div', { id: 'swarm-patch' });
  // Only a swarm in a git repository has a branch: the panel stays out of the page otherwise.
  const branchSection = section('Branch', branchBox, el('h3', {}, 'Patch'), patchBox);
  branchSection.id = 'swarm-branch';
  branchSection.hidden = true;
  const legend = (...items) => el('ul', { class: 'legend' }, ...items.map(([cls, word]) => el('li', {}, el('span', { class: `swatch ${cls}` }), word)));

  const replaySection = section('Replay', el('p', { class: 'muted' }, 'Step through the swarm\'s events to see its agents, plan and votes as they were.'), replayBox, replayNote);
  replaySection.hidden = true;
  view.append(
    el(
      'div',
      { id: 'swarm-detail', class: 'swarm-page' },
      el('header', { class: 'swarm-head' }, heading, objective, meta, controls),
      replaySection,
      el(
        'div',
        { class: 'grid swarm-graphs' },
        section('Topology', legend(['agent-busy', 'working'], ['agent-idle', 'idle'], ['agent-replaced', 'replaced (failover)'], ['agent-terminated', 'retired']), topologyBox),
        section('Plan', legend(['status-fill-waiting', 'waiting'], ['status-fill-queued', 'queued'], ['status-fill-running', 'running'], ['status-fill-completed', 'completed'], ['status-fill-failed', 'failed or cancelled']), planBox),
      ),
      section('Timeline', timelineBox),
      section('Votes', votesBox),
      section('Usage and cost', usageBox),
      section('Result', resultBox),
      branchSection,
    ),
  );

  const drawTopology = createTopology(topologyBox);
  const drawPlan = createPlanDag(planBox);
  let report = null;
  let votes = [];
  let usage = null;
  let events = [];
  let lastEventId = 0;
  let at = null;
  let diff = null;
  let diffKey = '';
  let diffError = '';

  function agentLabel(agentId) {
    const agent = report?.agents.find((a) => a.id === agentId);
    if (!agent) return agentId ? `agent …${agentId.slice(-6)}` : 'no agent';
    const seat = agent.config?.role === 'seat' ? ` (${agent.config.seat})` : '';
    return `${agent.type} …${agent.id.slice(-6)}${seat}`;
  }
  const planTitle = (planTaskId) => report?.swarm.plan?.tasks.find((t) => t.id === planTaskId)?.title ?? null;
  const titleOfTask = (taskId) => {
    const t = report?.tasks.find((x) => x.taskId === taskId);
    return t ? t.title : null;
  };

  function render() {
    if (!report) return;
    const s = report.swarm;
    const replaying = at !== null;
    const state = { ...swarmStateAt(events, at), replaying };
    const shownStatus = replaying ? (state.status ?? 'planning') : s.status;
    document.title = `${s.name} · Colony Studio`;
    heading.querySelector('#swarm-name').textContent = s.name;
    heading.querySelector('#swarm-status').replaceChildren(status(shownStatus));
    objective.textContent = s.objective;
    const took = s.startedAt ? duration((s.finishedAt ?? Date.now()) - s.startedAt) : '';
    meta.textContent = `${s.topology} · ${s.config.workers} worker${s.config.workers === 1 ? '' : 's'} · created ${time(s.createdAt)}${took ? ` · ${s.finishedAt ? 'took' : 'running for'} ${took}` : ''} · ${Math.round(s.progress * 100)}% done`;
    buttons.pause.hidden = FINISHED.includes(s.status) || s.status === 'paused';
    buttons.resume.hidden = s.status !== 'paused';
    buttons.stop.hidden = FINISHED.includes(s.status);
    controls.hidden = FINISHED.includes(s.status);

    replaySection.hidden = !FINISHED.includes(s.status) || events.length === 0;
    replayNote.hidden = !replaying;
    replayNote.textContent = replaying ? `Showing the swarm as it was at ${time(state.at)}: ${[...state.tasks.values()].filter((t) => t.status === 'completed').length} of ${s.plan?.tasks.length ?? 0} tasks completed.` : '';

    drawTopology(report, state);
    const byPlan = new Map(report.tasks.map((t) => [t.planTaskId, t]));
    const plan = s.plan && replaying ? (state.planned ? { ...s.plan, tasks: s.plan.tasks.filter((t) => !state.hidden.has(t.id)) } : null) : s.plan;
    const merges = mergeStates(s, replaying ? at : null);
    const statusOf = replaying
      ? (planTaskId) => ({ status: 'waiting', taskId: null, ...state.tasks.get(planTaskId), merge: merges.get(planTaskId) ?? null })
      : (planTaskId) => ({ status: byPlan.get(planTaskId)?.status ?? 'waiting', taskId: byPlan.get(planTaskId)?.taskId ?? null, merge: merges.get(planTaskId) ?? null });
    drawPlan(plan, statusOf, s.plan ? 'Not planned yet at this point.' : s.status === 'planning' ? 'Planning…' : 'No plan.');

    renderGantt(timelineBox, state.runs, { titleOf: planTitle, agentLabel, until: replaying ? state.at : FINISHED.includes(s.status) ? (s.finishedAt ?? state.at) : Date.now() });
    const votesKey = JSON.stringify([votes, replaying && [...state.proposals], replaying && [...state.votes], report.tasks.map((t) => t.title)]);
    if (votesKey !== shownKeys.votes) {
      shownKeys.votes = votesKey;
      renderVotes(votesBox, votes, {
        proposalStatus: (p) => (replaying ? state.proposals.get(p.id)?.status : p.status),
        voteShown: (v) => !replaying || state.votes.has(`${v.proposalId}|${v.round}|${v.voterId}`),
        titleOf: titleOfTask,
        agentLabel,
      });
    }
    const usageKey = JSON.stringify([usage, report.agents.map((a) => a.id)]);
    if (usage && usageKey !== shownKeys.usage) {
      shownKeys.usage = usageKey;
      renderUsage(usageBox, usage, { titleOf: planTitle, agentLabel });
    }
    renderOutcome(s);
    renderBranch(s);
  }

  /** Each plan task's merge into the swarm's branch: the result's once it ended, else the events' (up to `atId`). */
  function mergeStates(s, atId) {
    const result = s.result?.git;
    if (result && atId === null) {
      return new Map([...result.merged.map((id) => [id, 'merged']), ...result.conflicts.map((c) => [c.planTaskId, 'conflicted'])]);
    }
    return new Map([...mergeMarks(events, atId)].map(([id, m]) => [id, m.state]));
  }

  let branchKey = '';
  let patchKey = '';
  function renderBranch(s) {
    const model = branchModel(s, mergeMarks(events), diff, FINISHED.includes(s.status));
    branchSection.hidden = model === null;
    if (!model) return;
    const key = JSON.stringify([model, report.tasks.map((t) => t.title)]);
    if (key !== branchKey) {
      branchKey = key;
      replaceKeepingFocus(branchBox, branchView(model, { titleOf: planTitle }));
    }
    // Redrawn only when the patch changed: files the reader opened stay open.
    const shownPatch = JSON.stringify([diffError, diff?.head ?? null, diff?.patch.length ?? null]);
    if (shownPatch !== patchKey) {
      patchKey = shownPatch;
      replaceKeepingFocus(patchBox, diffError ? el('p', { class: 'empty' }, `No patch: ${diffError}`) : diff ? shownPatchView(diff) : el('p', { class: 'empty' }, 'Loading the patch…'));
    }
  }

  /** The branch's patch, fetched again only when the branch moved (a merge, or the swarm ended). */
  async function loadDiff(s) {
    if (!s.config.git && !s.result?.git) return;
    const marks = mergeMarks(events);
    const key = JSON.stringify([s.result?.git?.head ?? null, [...marks.values()].map((m) => m.head), s.status]);
    if (key === diffKey) return;
    try {
      diff = await ctx.api.get(`/swarms/${enc}/diff?maxBytes=${PATCH_FETCH_BYTES}`);
      diffError = '';
    } catch (error) {
      diff = null;
      diffError = error.message;
    }
    diffKey = key;
  }

  const shownKeys = { votes: '', usage: '' };
  let outcomeKey = '';
  function renderOutcome(s) {
    const key = JSON.stringify([s.result, s.error, s.status]);
    if (key === outcomeKey) return;
    outcomeKey = key;
    replaceKeepingFocus(
      resultBox,
      s.error ? el('p', { class: 'status-failed', id: 'swarm-error' }, `${s.error.code}: ${s.error.message}`) : null,
      s.result ? el('h3', {}, s.result.partial ? 'Partial result (what finished before it ended)' : 'Final result') : null,
      s.result ? el('pre', { id: 'swarm-result' }, s.result.summary) : null,
      !s.result && !s.error ? el('p', { class: 'empty' }, FINISHED.includes(s.status) ? 'No result.' : 'No result yet: the swarm is still working.') : null,
    );
  }

  let first = true;
  async function refresh() {
    try {
      // The status first: the URL may hold an id prefix, and events are found by the full id.
      const nextReport = await ctx.api.get(`/swarms/${enc}/status`);
      const [nextVotes, nextUsage, newEvents] = await Promise.all([
        ctx.api.get(`/swarms/${enc}/votes`),
        ctx.api.get(`/swarms/${enc}/usage`),
        loadEvents(ctx.api, nextReport.swarm.id, lastEventId),
      ]);
      report = nextReport;
      votes = nextVotes.items;
      usage = nextUsage;
      addEvents(newEvents, true);
      await loadDiff(report.swarm);
      // Replay is of a finished swarm; a running one is shown as it is.
      at = replay.setEvents(events, !FINISHED.includes(report.swarm.status) ? null : first ? requestedAt : at);
      first = false;
      render();
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  /**
   * Adds events not seen yet. Only a page read moves the cursor: an event from the stream may have a
   * higher id than ones the stream did not bring this page (published while it was loading, before
   * it listened), and paging after it would skip those for good.
   */
  function addEvents(list, paged) {
    if (paged && list.length > 0) lastEventId = Math.max(lastEventId, ...list.map((e) => e.id));
    const known = new Set(events.map((e) => e.id));
    const fresh = list.filter((e) => !known.has(e.id) && isReplayEvent(e));
    if (fresh.length === 0) return;
    events = [...events, ...fresh].sort((a, b) => a.id - b.id);
  }

  async function control(action) {
    try {
      await ctx.api.post(`/swarms/${enc}/control`, { action });
      ctx.showError('');
      await refresh();
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  const replay = createReplay(replayBox, (eventId) => {
    at = eventId;
    render();
  });
  await refresh();

  const refreshSoon = coalesce(refresh);
  // The swarm's own events come correlated with its id; its agents' changes (spawned, retired) are
  // correlated with the agent, so they are matched by the agents the report lists.
  // Events are taken from the stream as well as paged after the last id: with several writers ids do
  // not arrive in order, and the stream delivers the ones paging after an id would skip.
  const off = ctx.live.on(
    (e) => e.correlationId === report?.swarm.id || (e.type.startsWith('agent.') && e.type !== 'agent.output' && e.type !== 'agent.turn' && report?.swarm.agentIds.includes(e.data?.agentId)),
    (e) => {
      if (e.correlationId === report?.swarm.id) addEvents([e], false);
      refreshSoon();
    },
  );
  // A running swarm's open timeline bars grow with the clock.
  const tick = setInterval(() => {
    if (report && !FINISHED.includes(report.swarm.status) && at === null) render();
  }, 1_000);
  return () => {
    off();
    clearInterval(tick);
  };
}
