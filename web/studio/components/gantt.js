// A timeline of the swarm's task runs, one lane per agent: each bar from the task's start to its end
// (or to now, or to the replay moment, while it runs), coloured by how it ended, linking to the task.

import { el, duration, time } from '../lib/dom.js';
import { replaceKeepingFocus } from './keep-focus.js';

/**
 * runs: [{ taskId, planTaskId, agentId, start, end, status, attempt }]; titleOf(planTaskId) → title;
 * agentLabel(agentId) → text; until: the time open runs are drawn up to.
 */
export function renderGantt(container, runs, { titleOf, agentLabel, until }) {
  if (runs.length === 0) {
    replaceKeepingFocus(container, el('p', { class: 'empty' }, 'No task has started yet.'));
    return;
  }
  const t0 = Math.min(...runs.map((r) => r.start));
  const t1 = Math.max(until ?? 0, ...runs.map((r) => r.end ?? r.start));
  const span = Math.max(1, t1 - t0);
  const lanes = new Map();
  for (const run of runs) {
    const lane = run.agentId ?? 'unassigned';
    if (!lanes.has(lane)) lanes.set(lane, []);
    lanes.get(lane).push(run);
  }
  const rows = [...lanes].map(([agentId, laneRuns]) =>
    el(
      'li',
      { class: 'lane' },
      el('span', { class: 'lane-name' }, agentId === 'unassigned' ? 'no agent' : el('a', { href: `/agents?id=${encodeURIComponent(agentId)}`, 'data-key': `lane:${agentId}` }, agentLabel(agentId))),
      el(
        'ul',
        { class: 'track', 'aria-label': `Tasks run by ${agentLabel(agentId)}` },
        ...laneRuns.map((run) => {
          const end = run.end ?? until ?? run.start;
          const title = titleOf(run.planTaskId) ?? run.taskId;
          const words = `${title}: ${run.status}, ${time(run.start)}, ${duration(end - run.start)}${run.end === null ? ' so far' : ''}${run.attempt > 1 ? `, attempt ${run.attempt}` : ''}`;
          const bar = el('li', { class: `bar bar-${run.status}` }, el('a', { href: `/tasks/${encodeURIComponent(run.taskId)}`, 'aria-label': words, title: words, 'data-key': `run:${run.taskId}:${run.start}` }, title));
          bar.style.left = `${(100 * (run.start - t0)) / span}%`;
          bar.style.width = `max(0.6rem, ${(100 * (end - run.start)) / span}%)`;
          return bar;
        }),
      ),
    ),
  );
  replaceKeepingFocus(
    container,
    el('ul', { class: 'gantt', id: 'gantt', 'aria-label': 'Task runs per agent' }, ...rows),
    el('p', { class: 'gantt-axis muted' }, el('span', {}, time(t0)), el('span', {}, `${duration(span)} in all`), el('span', {}, time(t1))),
  );
}
