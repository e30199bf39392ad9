// A table in a labelled region that can be scrolled sideways from the keyboard: on a phone a wide
// table scrolls inside its box instead of widening the page, and its box takes focus so keyboard
// users can scroll it too.

import { table } from '../lib/dom.js';

export function dataTable(label, headers, rows, attrs = {}) {
  const wrap = table(headers, rows, attrs);
  wrap.setAttribute('role', 'region');
  wrap.setAttribute('aria-label', label);
  wrap.tabIndex = 0;
  return wrap;
}
