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
