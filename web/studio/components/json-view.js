// A JSON value as indented text, collapsible: a <details> whose summary says what it holds.

import { el } from '../lib/dom.js';

/** Shorter than this (as one line) shows inline, without the disclosure. */
const INLINE_MAX = 80;

export function jsonText(value) {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

/** `label`: the summary's words; `open`: shown expanded at first. */
export function jsonView(value, { label = 'JSON', open = false } = {}) {
  const oneLine = JSON.stringify(value) ?? 'undefined';
  if (oneLine.length <= INLINE_MAX) return el('code', { class: 'json-inline' }, oneLine);
  return el('details', { class: 'json', open }, el('summary', {}, `${label} (${describe(value)})`), el('pre', {}, jsonText(value)));
}

function describe(value) {
  if (Array.isArray(value)) return `${value.length} item${value.length === 1 ? '' : 's'}`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length <= 4 ? keys.join(', ') : `${keys.slice(0, 4).join(', ')}, … ${keys.length} keys`;
  }
  return typeof value;
}
