// Redraws that keep the reader's place: when the focused element inside `container` carries a
// data-key, the element with the same key in the new content gets the focus back.

export function replaceKeepingFocus(container, ...nodes) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute('data-key') : null;
  // replaceChildren would turn a null into the text "null".
  container.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
  if (key === null) return;
  const again = [...container.querySelectorAll('[data-key]')].find((n) => n.getAttribute('data-key') === key);
  again?.focus({ preventScroll: true });
}
