// A filter form whose values live in the page's URL query, so a filtered view can be shared: submit
// navigates to the same path with the form's non-empty fields (and no offset: back to page one).

import { el } from '../lib/dom.js';

/** fields: [{ name, label, type?: 'text' | 'select', options?: [[value, label]] (a select), placeholder?, suggestions?: [value] }] */
const isSelect = (f) => f.type === 'select' || Array.isArray(f.options);

export function filterForm(ctx, path, fields, { id, submitLabel = 'Apply' } = {}) {
  const form = el(
    'form',
    { class: 'filters', id, role: 'search' },
    el(
      'div',
      { class: 'row' },
      ...fields.map((f) => {
        const value = ctx.query.get(f.name) ?? '';
        const control =
          isSelect(f)
            ? el('select', { name: f.name }, ...f.options.map(([v, label]) => el('option', { value: v, selected: v === value }, label)))
            : el('input', { name: f.name, type: 'text', value, placeholder: f.placeholder ?? '', spellcheck: 'false', autocomplete: 'off', list: f.suggestions ? `${id}-${f.name}-list` : undefined });
        const list = f.suggestions ? el('datalist', { id: `${id}-${f.name}-list` }, ...f.suggestions.map((v) => el('option', { value: v }))) : null;
        return el('label', {}, `${f.label} `, control, list);
      }),
      el('button', { type: 'submit' }, submitLabel),
      el('a', { href: path, class: 'clear-filters' }, 'Clear'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const f of fields) {
      const v = form.elements[f.name].value.trim();
      // A select's first option is its default: left out of the URL.
      if (v && !(isSelect(f) && v === f.options[0][0])) q.set(f.name, v);
    }
    ctx.navigate(`${path}${q.size ? `?${q}` : ''}`);
  });
  return form;
}

/** The current URL with `changes` applied (null removes a key): for pager links that keep the filters. */
export function withQuery(ctx, path, changes) {
  const q = new URLSearchParams(ctx.query);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '' || v === 0) q.delete(k);
    else q.set(k, String(v));
  }
  return `${path}${q.size ? `?${q}` : ''}`;
}
