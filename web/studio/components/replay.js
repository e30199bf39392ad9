// Replay: a labelled range input over the swarm's events. Moving it (mouse, touch or arrow keys)
// shows the swarm as it was at that event; the position is kept in the URL (?at=<eventId>) so a
// link to that moment can be shared. "Latest" goes back to the swarm as it is.

import { el, time } from '../lib/dom.js';

function describe(event, index, total) {
  return `event ${index + 1} of ${total}: ${event.type} at ${time(event.timestamp)}`;
}

/** A replay control in `container`; onMove(eventId or null) is called when the position changes. */
export function createReplay(container, onMove) {
  const range = el('input', { type: 'range', id: 'replay-range', min: 0, max: 0, step: 1, value: 0 });
  const label = el('label', { for: 'replay-range' }, 'Replay position');
  const output = el('output', { for: 'replay-range', id: 'replay-at', 'aria-live': 'polite' });
  const latest = el('button', { type: 'button', id: 'replay-latest' }, 'Show latest');
  let events = [];
  let at = null;

  function show() {
    const index = at === null ? events.length - 1 : events.findIndex((e) => e.id === at);
    range.max = String(Math.max(0, events.length - 1));
    range.value = String(Math.max(0, index));
    const text = events.length === 0 ? 'no events' : at === null ? `latest (${describe(events[events.length - 1], events.length - 1, events.length)})` : describe(events[index], index, events.length);
    output.textContent = text;
    range.setAttribute('aria-valuetext', text);
    latest.disabled = at === null;
  }

  function move(eventId) {
    at = eventId;
    const url = new URL(location.href);
    if (at === null) url.searchParams.delete('at');
    else url.searchParams.set('at', String(at));
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    show();
    onMove(at);
  }

  range.addEventListener('input', () => {
    const index = Number(range.value);
    move(index >= events.length - 1 ? null : (events[index]?.id ?? null));
  });
  latest.addEventListener('click', () => move(null));
  container.replaceChildren(el('div', { class: 'replay' }, label, range, output, latest));

  return {
    /** New events (the whole list); `requested` is the position asked for (the URL's), kept if it exists. */
    setEvents(list, requested = at) {
      events = list;
      // A position between replayed events (a shared link to any event) shows the one before it.
      const before = requested === null ? undefined : events.findLast((e) => e.id <= requested);
      at = before === undefined || before === events[events.length - 1] ? null : before.id;
      show();
      return at;
    },
    get at() {
      return at;
    },
  };
}
