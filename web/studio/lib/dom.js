// DOM helpers for the Studio. Text from the API is always set as text (textContent, text nodes),
// never parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.setAttribute('class', value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: el('a', { href, class }, 'text', otherNode, [more, nodes]). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** An SVG element, same shape as el(). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** A link to another Studio page (the router handles the click; a new tab works too). */
export const link = (href, ...children) => el('a', { href }, ...children);

export const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '');
export const dateTime = (ms) => (ms ? new Date(ms).toLocaleString() : '');

export function duration(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const count = (n) => (n ?? 0).toLocaleString('en-US');

/** Dollars: cents precision above a cent, four places below. */
export function dollars(usd) {
  if (usd === undefined || usd === null) return '';
  return usd >= 0.01 || usd === 0 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

export const shortId = (id) => (id ? String(id).slice(0, 10) : '');

/** A status word with its colour class (status-<name> in studio.css). */
export const status = (name) => el('span', { class: `status status-${name}` }, name);

/** A table: headers and rows of cells (nodes or text). */
export function table(headers, rows, attrs = {}) {
  return el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      attrs,
      el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows),
    ),
  );
}

/** A section with a heading. */
export const section = (title, ...children) => el('section', { class: 'panel' }, el('h2', {}, title), ...children);
