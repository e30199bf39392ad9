// A table that turns into one card per row on a phone (task.css, .card-table): each cell is labelled
// with its column's header, since the header row is hidden there, and its content kept in one box
// beside the label.

import { el, table } from '../lib/dom.js';

export function cardTable(headers, rows, attrs = {}) {
  for (const row of rows) {
    [...row.children].forEach((cell, i) => {
      cell.setAttribute('data-label', headers[i] ?? '');
      if (cell.childNodes.length > 1) cell.replaceChildren(el('div', {}, ...cell.childNodes));
    });
  }
  return table(headers, rows, { ...attrs, class: `card-table ${attrs.class ?? ''}`.trim() });
}
