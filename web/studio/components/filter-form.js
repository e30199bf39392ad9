// A filter bar for a list page: labelled selects and inputs whose values become the page's URL
// query (so a filtered list is a link), applied on submit.

import { el } from '../lib/dom.js';

/**
 * fields: [{ name, label, options: [[value, text]...] } | { name, label, type, placeholder }].
 * Submitting navigates to `path` with the non-empty values (the offset starts again).
 */
export function filterForm(ctx, path, fields, { id, keep = [] } = {}) {
  const form = el('form', { class: 'filters row', id, role: 'search', 'aria-label': 'Filters' });
  for (const f of fields) {
    const current = ctx.query.get(f.name) ?? '';
    const control = f.options
      ? el('select', { name: f.name }, ...f.options.map(([value, text]) => el('option', { value, selected: value === current }, text)))
      : el('input', { name: f.name, type: f.type ?? 'text', value: current, placeholder: f.placeholder });
    form.append(el('label', {}, `${f.label} `, control));
  }
  form.append(el('button', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const name of keep) if (ctx.query.get(name)) q.set(name, ctx.query.get(name));
    for (const f of fields) {
      const value = form.elements[f.name].value.trim();
      if (value) q.set(f.name, value);
    }
    const s = q.toString();
    ctx.navigate(s ? `${path}?${s}` : path);
  });
  return form;
}
