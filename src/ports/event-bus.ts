import type { ColonyEvent, ColonyEventMap, ColonyEventType, StoredEvent } from '../domain/events.js';
import type { EventQuery } from './store.js';

/**
 * The EventBus port: the engine publishes what happens, anyone subscribes. Adapter: `kernel/local-event-bus.ts`
 * (one machine: this process's events, persisted to the store's events table, then delivered). Other
 * processes' events are read from the log (`list`), followed by cursor; `onExternalEvents` says when
 * to read again (DESIGN.md, "Many processes, one truth").
 *
 * Contract:
 * - `publish` never waits and never throws: the event is persisted (which gives it its id), then delivered.
 * - Each subscriber gets the events matching its filter in publish order, through its own bounded
 *   buffer: a slow subscriber falls behind and, past its buffer, loses the oldest events (counted in
 *   `dropped`), but never holds up the publisher or other subscribers. A handler that throws or
 *   rejects is logged and keeps its subscription.
 * - A subscriber that filters by types receives exactly those events' types: `event.data` is typed
 *   by `event.type`, with no cast.
 */
export interface EventBus {
  publish<T extends ColonyEventType>(type: T, data: ColonyEventMap[T], meta: PublishMeta): void;
  /** Writing events together with the change they report (see EventOutbox); absent: events are only published. */
  readonly outbox?: EventOutbox;
  /**
   * Calls `handler` with each event matching `filter` published from now on. The handler's event is
   * narrowed by the filter's types: `{ types: ['agent.terminated'] }` gives `ColonyEvent<'agent.terminated'>`,
   * `{ types: ['task.*'] }` the union of the `task.*` events, no types (or any string not known at
   * compile time) the union of every event.
   */
  subscribe<P extends string = ColonyEventType>(filter: EventFilter<P>, handler: EventHandler<NoInfer<EventMatching<P>>>): Subscription;
  /**
   * Resolves when every event published so far is persisted and handed to subscribers, and the
   * subscribers have worked through them, waiting for a stuck subscriber no longer than `maxWaitMs`
   * (the adapter's default when absent).
   */
  flush(maxWaitMs?: number): Promise<void>;
  /**
   * The persisted event log, written by every process sharing the store (see `Store.events.list`):
   * oldest first (page on with `afterId`), or newest first. Published events appear once persisted (`flush`).
   */
  list(query?: EventQuery): Promise<StoredEvent[]>;
  /**
   * Calls `listener` when other processes may have appended to the log (PostgreSQL NOTIFY, say): a
   * hint to read it again with `list`. Lost or spurious hints cost latency only (a follower still
   * polls); with no cross-process notifications, never called. Returns the function that stops it.
   */
  onExternalEvents(listener: () => void): () => void;
}

/**
 * Events written in one transaction with the change they report (`TaskStore.updateMany`'s events),
 * so that the log has them exactly when the store has the change: a process killed right after the
 * commit cannot leave it unreported. The write carries, ahead of its own, this process's events about
 * the task that are not in the log yet, so the log keeps the task's order without waiting for them.
 */
export interface EventOutbox {
  /**
   * Takes this process's events about a task (`data.taskId`) that are not in the log yet out of the
   * bus's queue, for the write to carry (those being written already are waited for). After the write:
   * `delivered`, or `restore` if it did not happen. Synchronous when nothing is being written.
   */
  take(taskId: string): ColonyEvent[] | Promise<ColonyEvent[]>;
  /** Events now in the log (written with the change): delivered to subscribers, not persisted again. Their ids are not known here (0). */
  delivered(events: readonly ColonyEvent[]): void;
  /** Taken events whose write did not happen: back in the queue, persisted as published ones. */
  restore(events: readonly ColonyEvent[]): void;
}

export interface EventFilter<P extends string = string> {
  /** Exact types, or a prefix ending in `.*` (e.g. `task.*`). Empty or absent: every type. */
  types?: readonly P[];
  correlationId?: string;
  source?: string;
}

export interface PublishMeta {
  source: string;
  correlationId?: string | null;
}

export interface Subscription {
  unsubscribe(): void;
  /** Events this subscriber missed because its buffer was full. */
  readonly dropped: number;
}

/**
 * Handles one event. What it returns is ignored, except a promise: the subscriber's next event waits
 * for it to settle (a rejection is logged).
 */
export type EventHandler<E extends ColonyEvent = ColonyEvent> = (event: E) => unknown;

/**
 * The event types that filter entries `P` select: an exact type itself, a prefix (`task.*`) the types
 * that start with it, and any other string (or none: no filter) every type.
 */
export type TypesMatching<P extends string> = [P] extends [never]
  ? ColonyEventType
  : P extends ColonyEventType
    ? P
    : P extends `${infer Prefix}.*`
      ? Extract<ColonyEventType, `${Prefix}.${string}`>
      : ColonyEventType;

/** The events a subscriber whose filter lists the types `P` receives. */
export type EventMatching<P extends string> = ColonyEvent<TypesMatching<P>>;
