// Page links for a paginated list: "← previous", "n–m of total", "next →", keeping the page's other
// query parameters (filters) as they are.

import { el, link } from '../lib/dom.js';

/**
 * A pager for `page` ({ total, offset, limit }) at `path`; `query` holds the current URL's
 * parameters; `param` names the offset parameter (pages with two lists use two). An empty text node
 * when one page holds all (so it can be given to replaceChildren, which would print a null).
 */
export function pager(path, query, page, label, param = 'offset') {
  const { total, offset, limit } = page;
  if (total <= limit && offset === 0) return document.createTextNode('');
  const href = (to) => {
    const q = new URLSearchParams(query);
    if (to > 0) q.set(param, String(to));
    else q.delete(param);
    const s = q.toString();
    return s ? `${path}?${s}` : path;
  };
  const prev = offset > 0 ? link(href(Math.max(0, offset - limit)), '← previous') : null;
  const next = offset + limit < total ? link(href(offset + limit), 'next →') : null;
  const shown = total === 0 ? '0' : `${Math.min(total, offset + 1)}–${Math.min(total, offset + limit)}`;
  return el('nav', { class: 'pager', 'aria-label': label }, prev, ` ${shown} of ${total.toLocaleString('en-US')} `, next);
}

/** A non-negative offset from the URL (bad values read as 0). */
export function offsetFrom(query, param = 'offset') {
  return Math.max(0, Math.floor(Number(query.get(param) ?? 0)) || 0);
}
