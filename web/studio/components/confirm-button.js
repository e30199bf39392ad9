// A destructive action behind a confirmation step: the button first asks, in place, and only the
// second, explicit button acts. Keyboard focus moves to the question and back.

import { el } from '../lib/dom.js';

/**
 * A button labelled `label` that, once pressed, shows `question` with "Yes, <verb>" and "Cancel";
 * "Yes" runs `action` (errors are shown by `onError`).
 */
export function confirmButton({ label, question, confirmLabel, action, onError, attrs = {} }) {
  const box = el('span', { class: 'confirm' });
  const start = el('button', { type: 'button', class: 'danger', ...attrs }, label);
  const ask = () => {
    const yes = el('button', { type: 'button', class: 'danger', 'data-confirm': 'yes' }, confirmLabel);
    const no = el('button', { type: 'button', 'data-confirm': 'no' }, 'Cancel');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await action();
      } catch (error) {
        onError(error);
        reset();
      }
    });
    no.addEventListener('click', reset);
    box.replaceChildren(el('span', { role: 'alert' }, question, ' '), yes, ' ', no);
    yes.focus();
  };
  const reset = () => {
    box.replaceChildren(start);
    start.focus();
  };
  start.addEventListener('click', ask);
  box.append(start);
  return box;
}
