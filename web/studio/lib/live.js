// The live event feed: one WebSocket for the whole Studio, reconnecting from the last event seen so
// nothing is missed. Pages subscribe with a predicate and get each matching event.

import { apiKey } from './api.js';

const RECONNECT_MS = 2_000;

export function createLive(onState) {
  const listeners = new Set();
  let lastEventId = null;
  let socket = null;
  let closed = false;

  function connect() {
    const params = new URLSearchParams();
    if (apiKey()) params.set('access_token', apiKey());
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v2/events/stream${params.size ? `?${params}` : ''}`;
    socket = new WebSocket(url);
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ type: 'subscribe', ...(lastEventId === null ? {} : { lastEventId }) }));
    });
    socket.addEventListener('message', (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === 'subscribed') onState('live');
      if (frame.type !== 'event') return;
      lastEventId = frame.event.id;
      for (const listener of [...listeners]) if (listener.match(frame.event)) listener.handle(frame.event);
    });
    socket.addEventListener('close', () => {
      if (closed) return;
      onState('offline, reconnecting');
      setTimeout(connect, RECONNECT_MS);
    });
  }
  connect();

  return {
    /** Calls handle(event) for each event that match(event) accepts; returns the unsubscribe. */
    on(match, handle) {
      const listener = { match, handle };
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      socket?.close();
    },
  };
}

/** Calls fn at most once per `ms`, after the last call of a burst (events come in bursts). */
export function coalesce(fn, ms = 200) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
