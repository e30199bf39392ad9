// A task's file changes as unified diffs: one block per file, removed lines and added lines marked by
// a sign (not only by colour) so the diff reads the same without colour.

import { el } from '../lib/dom.js';

export function fileChangesView(changes) {
  if (!changes.journal) {
    return el('p', { class: 'empty' }, 'No file changes recorded: the task wrote no file through the file tools, or its changes were rolled back.');
  }
  if (changes.files.length === 0) return el('p', { class: 'empty' }, 'No file changes.');
  return el('div', { id: 'file-changes' }, ...changes.files.map(fileView));
}

function fileView(file) {
  const d = file.diff;
  const stats = d && !d.tooLarge ? ` +${d.added} −${d.removed}` : '';
  return el(
    'details',
    { class: 'file-change', open: true, 'data-path': file.path },
    el('summary', {}, el('code', {}, file.path), ` ${file.change}${stats}`),
    file.note ? el('p', { class: 'muted' }, file.note) : null,
    d?.tooLarge ? el('p', { class: 'muted' }, `Diff not shown: ${d.reason}.`) : null,
    d && !d.tooLarge ? diffText(file.path, file.change, d) : null,
  );
}

function diffText(path, change, diff) {
  const lines = [
    el('span', { class: 'diff-file' }, `--- ${change === 'created' ? '/dev/null' : `a/${path}`}\n+++ b/${path}\n`),
  ];
  for (const hunk of diff.hunks) {
    lines.push(el('span', { class: 'diff-hunk' }, `${hunk.header}\n`));
    for (const line of hunk.lines) {
      const cls = line.op === '+' ? 'diff-add' : line.op === '-' ? 'diff-del' : 'diff-ctx';
      lines.push(el('span', { class: cls }, `${line.op}${line.text}\n`));
    }
  }
  return el('pre', { class: 'diff' }, ...lines);
}

// A whole `git diff` patch (a swarm's branch): one collapsible block per file. A patch can be huge,
// so only the first files up to OPEN_LINES are drawn open; the others are drawn when opened, and no
// file draws more than FILE_LINES lines (the rest is for `git diff` in a terminal).
const OPEN_LINES = 400;
const FILE_LINES = 2_000;

/** The files of a unified git patch: path, change, +/- counts and their lines (headers included). */
export function parsePatch(patch) {
  const files = [];
  let file = null;
  for (const line of patch.split('\n')) {
    if (line.startsWith('diff --git ')) {
      const m = / b\/(.*)$/.exec(line);
      file = { path: m ? m[1] : line.slice('diff --git '.length), change: 'modified', added: 0, removed: 0, lines: [{ text: line, cls: 'diff-file' }], inHunks: false };
      files.push(file);
      continue;
    }
    if (!file) continue;
    if (!file.inHunks && line.startsWith('new file')) file.change = 'created';
    if (!file.inHunks && line.startsWith('deleted file')) file.change = 'deleted';
    if (!file.inHunks && line.startsWith('Binary files')) file.change = `${file.change}, binary`;
    if (line.startsWith('@@')) file.inHunks = true;
    // Before the first hunk every line is a header; in hunks the first character says what it is.
    const cls = line.startsWith('@@') ? 'diff-hunk' : !file.inHunks ? 'diff-file' : line.startsWith('+') ? 'diff-add' : line.startsWith('-') ? 'diff-del' : 'diff-ctx';
    if (cls === 'diff-add') file.added += 1;
    if (cls === 'diff-del') file.removed += 1;
    file.lines.push({ text: line, cls });
  }
  // The patch ends with a newline: the empty piece after it is no line of the last file.
  if (file && file.lines.at(-1).text === '') file.lines.pop();
  return files;
}

/** The patch as one block per file, drawn open while small, lazily once large. */
export function patchView(patch) {
  const files = parsePatch(patch);
  if (files.length === 0) return el('p', { class: 'empty' }, 'No changes on the branch yet.');
  let budget = OPEN_LINES;
  const blocks = files.map((file) => {
    const open = file.lines.length <= budget;
    if (open) budget -= file.lines.length;
    const block = el(
      'details',
      { class: 'file-change', open, 'data-path': file.path },
      el('summary', {}, el('code', {}, file.path), ` ${file.change} +${file.added} −${file.removed}`),
    );
    const drawBody = () => {
      if (block.dataset.drawn) return;
      block.dataset.drawn = 'yes';
      block.append(...patchLines(file));
    };
    if (open) drawBody();
    else block.addEventListener('toggle', () => block.open && drawBody());
    return block;
  });
  const shut = blocks.filter((b) => !b.open).length;
  return el(
    'div',
    { class: 'patch' },
    shut > 0 ? el('p', { class: 'muted' }, `${files.length} files; ${shut} of them are closed to keep the page light: open one to draw its diff.`) : null,
    ...blocks,
  );
}

function patchLines(file) {
  const shown = file.lines.slice(0, FILE_LINES);
  const spans = shown.map((line) => el('span', { class: line.cls }, `${line.text}\n`));
  const more = file.lines.length - shown.length;
  const pre = el('pre', { class: 'diff' }, ...spans);
  return more > 0 ? [pre, el('p', { class: 'muted' }, `${more.toLocaleString('en-US')} more lines not drawn: see them with git diff.`)] : [pre];
}
