// A swarm's git branch (swarms in a repository work in a worktree per task and end with a branch):
// its name and commits, the files it changes, the plan tasks merged into it, the conflicts and kept
// branches, and the two commands that look at it and take it. While the swarm runs, what is merged or
// conflicted comes from its events (swarm.task_merged, swarm.merge_conflicted); once it ended, from
// its result.

import { el, table } from '../lib/dom.js';

const SHORT = 8;
const short = (commit) => (commit ? String(commit).slice(0, SHORT) : '…');

/**
 * Each plan task's merge state from the swarm's events up to `atId` (all of them when null):
 * 'merged', 'conflicted' (no one resolves it), or 'resolving' (a task was sent to resolve it).
 */
export function mergeMarks(events, atId = null) {
  const marks = new Map();
  for (const e of events) {
    if (atId !== null && e.id > atId) break;
    if (e.type === 'swarm.task_merged') marks.set(e.data.planTaskId, { state: 'merged', head: e.data.head, files: [] });
    if (e.type === 'swarm.merge_conflicted') marks.set(e.data.planTaskId, { state: e.data.resolvedBy ? 'resolving' : 'conflicted', head: null, files: e.data.files });
  }
  return marks;
}

/** The last head merged into the branch according to the events, or null. */
export function lastMergedHead(marks) {
  let head = null;
  for (const mark of marks.values()) if (mark.head) head = mark.head;
  return head;
}

/**
 * What the panel shows: the result's git when the swarm ended, else the config and the events so far.
 * `diff` (the diff route's answer, or null) gives the files while the swarm runs; `finished`: the
 * swarm ended (a swarm can end with no git result, when its worktrees could not be closed).
 */
export function branchModel(swarm, marks, diff, finished) {
  const config = swarm.config.git ?? null;
  const result = swarm.result?.git ?? null;
  if (!config && !result) return null;
  if (result) return { ...result, ended: true };
  const files = diff ? diff.files : [];
  const merged = [...marks].filter(([, m]) => m.state === 'merged').map(([id]) => id);
  const conflicts = [...marks].filter(([, m]) => m.state !== 'merged').map(([planTaskId, m]) => ({ planTaskId, branch: null, commit: null, files: m.files, resolving: m.state === 'resolving' }));
  return { branch: config.branch, base: config.base, head: diff?.head ?? lastMergedHead(marks), dirty: config.dirty, files, merged, conflicts, kept: [], ended: finished };
}

/** The panel's content for a model from branchModel(); `titleOf(planTaskId)` names a plan task. */
export function branchView(model, { titleOf }) {
  const taskName = (id) => {
    const title = titleOf(id);
    return title ? `${title} (${id})` : id;
  };
  const commands = [
    ['See the swarm\'s work', `git diff ${model.base} ${model.branch}`],
    ['Take it into your branch', `git merge ${model.branch}`],
  ];
  return el(
    'div',
    { id: 'branch-detail' },
    el('p', {}, 'Branch ', el('code', { id: 'branch-name' }, model.branch), ' ', el('span', { class: 'muted', id: 'branch-range' }, `${short(model.base)}..${short(model.head)}`), model.ended ? null : el('span', { class: 'muted' }, ' · the swarm is still merging into it')),
    model.dirty
      ? el('p', { class: 'banner warn', id: 'branch-dirty' }, 'The checkout had uncommitted changes when the swarm started: they are not in its base, so the swarm did not see them.')
      : null,
    el('h3', {}, `Files changed (${model.files.length})`),
    model.files.length === 0
      ? el('p', { class: 'empty' }, model.ended ? 'The branch changes no file.' : 'No file changed yet.')
      : table(
          ['File', 'Added', 'Removed'],
          model.files.map((f) => el('tr', { 'data-path': f.path }, el('td', {}, el('code', {}, f.path)), el('td', { class: 'num' }, f.additions === null ? 'binary' : `+${f.additions}`), el('td', { class: 'num' }, f.deletions === null ? 'binary' : `−${f.deletions}`))),
          { id: 'branch-files' },
        ),
    el('h3', {}, `Merged tasks (${model.merged.length})`),
    model.merged.length === 0 ? el('p', { class: 'empty' }, 'No task merged yet.') : el('ul', { id: 'branch-merged' }, ...model.merged.map((id) => el('li', { 'data-plan-task': id }, taskName(id)))),
    model.conflicts.length === 0
      ? null
      : el(
          'div',
          {},
          el('h3', {}, `Conflicts (${model.conflicts.length})`),
          el(
            'ul',
            { id: 'branch-conflicts' },
            ...model.conflicts.map((c) =>
              el(
                'li',
                { 'data-plan-task': c.planTaskId },
                el('span', { class: 'status-failed' }, c.resolving ? 'being resolved: ' : 'conflict: '),
                taskName(c.planTaskId),
                c.branch ? [' kept on ', el('code', {}, c.branch)] : null,
                ' in ',
                ...c.files.flatMap((f, i) => [i > 0 ? ', ' : '', el('code', { class: 'conflict-file' }, f)]),
              ),
            ),
          ),
        ),
    model.kept.length === 0 ? null : el('div', {}, el('h3', {}, 'Kept branches'), el('ul', { id: 'branch-kept' }, ...model.kept.map((b) => el('li', {}, el('code', {}, b))))),
    el('h3', {}, 'Take it'),
    el('ul', { class: 'git-commands' }, ...commands.map(([what, command]) => el('li', {}, `${what}: `, el('code', {}, command), ' ', copyButton(command)))),
  );
}

/** A copy button as the keys page has: says Copied, or how to copy by hand when the clipboard refuses. */
function copyButton(text) {
  const button = el('button', { type: 'button', 'aria-label': `Copy ${text}` }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select the command and copy it';
    }
  });
  return button;
}
