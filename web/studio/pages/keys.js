// API keys (/keys, admins): the keys (never the secrets), a form that creates one and shows it
// once, and revocation behind a confirmation. Other roles are told plainly the page is for admins.

import { el, status, section, dateTime } from '../lib/dom.js';
import { dataTable } from '../components/data-table.js';
import { confirmButton } from '../components/confirm-button.js';

export const title = 'API keys';

const ROLES = [
  ['viewer', 'viewer (read only)'],
  ['operator', 'operator (run and control work)'],
  ['admin', 'admin (everything, keys included)'],
];

export async function mount(view, ctx) {
  view.append(el('h1', {}, 'API keys'));
  // Who the Studio's caller is: its role, and which key it uses (revoking that one locks this browser out).
  const me = await ctx.api.get('/auth/whoami').catch(() => null);
  const role = me?.role ?? null;
  if (role !== null && role !== 'admin') {
    view.append(el('p', { class: 'panel', id: 'keys-admins-only' }, `API keys are managed by admins only: your key's role is ${role}. Ask an admin for a key or a change of role.`));
    return;
  }
  const created = el('div', { id: 'key-created', 'aria-live': 'polite' });
  const list = el('div', { id: 'key-list' });
  const showRevoked = el('input', { type: 'checkbox', id: 'keys-show-revoked' });
  view.append(section('New key', createForm(), created), section('Keys', el('label', { class: 'check' }, showRevoked, ' show revoked keys'), list));
  showRevoked.addEventListener('change', () => void refresh());

  function createForm() {
    const form = el(
      'form',
      { id: 'key-create', class: 'row' },
      el('label', {}, 'Name ', el('input', { name: 'name', maxlength: 64, placeholder: 'what it is for' })),
      el('label', {}, 'Role ', el('select', { name: 'role' }, ...ROLES.map(([value, text]) => el('option', { value }, text)))),
      el('button', { type: 'submit' }, 'Create key'),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const body = { role: form.elements.role.value };
        if (form.elements.name.value.trim()) body.name = form.elements.name.value.trim();
        const key = await ctx.api.post('/keys', body);
        form.reset();
        showOnce(key);
        await refresh();
      } catch (error) {
        ctx.showError(error.message);
      }
    });
    return form;
  }

  function showOnce(key) {
    const secret = el('code', { id: 'key-secret' }, key.key);
    const copy = el('button', { type: 'button' }, 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(key.key);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Select the key and copy it';
      }
    });
    const done = el('button', { type: 'button' }, 'Done: hide it');
    done.addEventListener('click', () => created.replaceChildren());
    created.replaceChildren(
      el(
        'div',
        { class: 'banner warn key-once' },
        el('p', {}, `Key “${key.name}” (${key.role}) created. Copy it now: it is shown this once and cannot be shown again.`),
        el('p', { class: 'secret' }, secret, ' ', copy, ' ', done),
      ),
    );
  }

  async function refresh() {
    try {
      const keys = await ctx.api.get(`/keys${showRevoked.checked ? '?all=true' : ''}`);
      list.replaceChildren(
        keys.items.length === 0
          ? el('p', { class: 'empty' }, 'No API keys: the server accepts loopback callers without one until the first key is made.')
          : dataTable(
              'API keys',
              ['Name', 'Id', 'Role', 'Created', 'Last used', 'State'],
              keys.items.map((k) =>
                el(
                  'tr',
                  { 'data-id': k.id },
                  el('td', {}, k.name, k.id === me?.id ? el('span', { class: 'muted' }, ' (the key this browser uses)') : null),
                  el('td', {}, el('code', {}, k.id)),
                  el('td', {}, k.role),
                  el('td', {}, dateTime(k.createdAt)),
                  el('td', {}, k.lastUsedAt ? dateTime(k.lastUsedAt) : 'never'),
                  el(
                    'td',
                    {},
                    k.revokedAt
                      ? status('revoked')
                      : confirmButton({
                          label: 'Revoke',
                          question: `Revoke “${k.name}”? Callers using it are refused at once${k.id === me?.id ? ', this browser included' : ''}.`,
                          confirmLabel: 'Yes, revoke',
                          attrs: { 'data-revoke': k.id, 'aria-label': `Revoke ${k.name}` },
                          onError: (error) => ctx.showError(error.message),
                          action: async () => {
                            await ctx.api.del(`/keys/${k.id}`);
                            await refresh();
                          },
                        }),
                  ),
                ),
              ),
              { id: 'key-table' },
            ),
      );
    } catch (error) {
      ctx.showError(error.message);
    }
  }

  await refresh();
}
