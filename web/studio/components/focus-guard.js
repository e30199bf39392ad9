// Live pages redraw their lists when events arrive; a redraw under a keyboard user's focus would
// throw them back to the top of the page. This wraps a refresh so it waits while focus is inside
// `view` (on anything but the view itself) and runs once focus leaves.

export function unlessFocusedIn(view, refresh) {
  let pending = false;
  const focused = () => view.contains(document.activeElement) && document.activeElement !== view;
  const onFocusOut = () => {
    // After focusout, activeElement is the next element (or body) once the event has been handled.
    setTimeout(() => {
      if (pending && !focused()) {
        pending = false;
        void refresh();
      }
    }, 0);
  };
  view.addEventListener('focusout', onFocusOut);
  const guarded = () => {
    if (focused()) {
      pending = true;
      return;
    }
    void refresh();
  };
  guarded.stop = () => view.removeEventListener('focusout', onFocusOut);
  return guarded;
}
