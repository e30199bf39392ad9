// One event of the log as a list item: when, type, where it came from, links to its pages, and its
// payload as collapsible JSON text.

import { el, link, time } from '../lib/dom.js';
import { eventLinks } from './event-links.js';
import { jsonView } from './json-view.js';

/** `self`: the id of the page it is shown on, not linked to again. */
export function eventLine(event, { self } = {}) {
  const links = eventLinks(event).filter((l) => l.id !== self);
  return el(
    'li',
    { class: 'event-line', 'data-type': event.type, 'data-id': event.id },
    el(
      'div',
      { class: 'event-head' },
      el('time', { datetime: new Date(event.timestamp).toISOString(), title: new Date(event.timestamp).toLocaleString() }, time(event.timestamp)),
      el('strong', { class: 'event-type' }, event.type),
      el('span', { class: 'muted' }, `#${event.id} · ${event.source}`),
      links.length ? el('span', { class: 'event-links' }, ...links.map((l) => link(l.href, `${l.label} ${l.id.slice(0, 12)}`))) : null,
      event.correlationId && event.correlationId !== self ? link(`/events?correlationId=${encodeURIComponent(event.correlationId)}`, `events of ${event.correlationId.slice(0, 12)}`) : null,
    ),
    jsonView(event.data, { label: 'payload' }),
  );
}
