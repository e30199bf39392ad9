import type { ColonyEvent, ColonyEventMap, ColonyEventType, StoredEvent } from '../domain/events.js';
import type { JsonValue } from '../domain/json.js';
import type { EventBus as EventBusPort, EventFilter, EventHandler, EventMatching, EventOutbox, PublishMeta, Subscription } from '../ports/event-bus.js';
import type { EventQuery, NewEvent } from '../ports/store.js';
import type { Logger } from './logger.js';
import { DEFAULT_STORE_RETRY, retryStoreWrite, type StoreRetryPolicy } from './store-retry.js';

export type { EventFilter, EventHandler, PublishMeta, Subscription } from '../ports/event-bus.js';

/** How long `flush` waits for subscribers to work through their buffers (a stuck one must not hang shutdown). */
export const FLUSH_SUBSCRIBER_WAIT_MS = 2_000;
/** Events persisted in one write at most: a backlog is written in bounded statements. */
const MAX_BATCH_EVENTS = 5_000;

export interface EventBusOptions {
  /** Persists a batch and returns the ids it assigned; absent: ids are a local sequence. */
  persist?: (events: readonly NewEvent[]) => Promise<number[]>;
  /** Reads the persisted log (every process's events); absent: nothing is persisted, the log is empty. */
  read?: (query: EventQuery) => Promise<StoredEvent[]>;
  /**
   * Where hints that other processes appended to the log come from (the store's change notifications):
   * adds a listener, returns its removal. Absent: there are none.
   */
  external?: (listener: () => void) => () => void;
  logger: Logger;
  bufferSize: number;
  now?: () => number;
  /** How a batch that failed to persist while the store did not answer is tried again. Default: DEFAULT_STORE_RETRY. */
  persistRetry?: StoreRetryPolicy;
}

/**
 * The EventBus port's one-machine adapter: delivers this process's events. `publish` never waits and
 * never throws: events are persisted in batches (one per turn of the event loop) and then delivered in
 * order. Each subscriber has its own bounded buffer and is fed one event at a time; a slow one falls
 * behind (and past its buffer, loses the oldest events, counted in `dropped`) but never holds up the
 * publisher or other subscribers. Other processes' events are read from the log (`list`), not delivered;
 * `onExternalEvents` passes on the hints that there are new ones.
 */
export class LocalEventBus implements EventBusPort {
  private readonly options: EventBusOptions;
  private readonly subscribers = new Set<Subscriber>();
  private pending: ColonyEvent[] = [];
  private scheduled = false;
  /** A batch is being persisted: what is published meanwhile waits and goes in the next batch, whole. */
  private inFlight = false;
  private tail: Promise<void> = Promise.resolve();
  private localSeq = 0;
  /** Events in the log already (written with the change they report): delivered, not persisted again. */
  private readonly logged = new WeakSet<ColonyEvent>();
  /** Events taken by the outbox: left where they are in the queue, and skipped there. */
  private readonly taken = new WeakSet<ColonyEvent>();
  /** Per task (`data.taskId`), its events not in the log yet: those queued, in order, and how many are being written. */
  private readonly byTask = new Map<string, { queued: ColonyEvent[]; writing: number }>();

  constructor(options: EventBusOptions) {
    this.options = options;
  }

  publish<T extends ColonyEventType>(type: T, data: ColonyEventMap[T], meta: PublishMeta): void {
    const event = {
      id: 0,
      type,
      source: meta.source,
      data,
      correlationId: meta.correlationId ?? null,
      timestamp: (this.options.now ?? Date.now)(),
    } as ColonyEvent;
    this.pending.push(event);
    this.queuedFor(event);
    if (!this.scheduled && !this.inFlight) {
      this.scheduled = true;
      setImmediate(() => this.persistBatch());
    }
  }

  /** See EventOutbox. */
  readonly outbox: EventOutbox = {
    take: (taskId) => this.take(taskId),
    delivered: (events) => this.enqueue(events, true),
    restore: (events) => this.enqueue(events, false),
  };

  private take(taskId: string): ColonyEvent[] | Promise<ColonyEvent[]> {
    const entry = this.byTask.get(taskId);
    if (!entry) return [];
    // Those being written now go in the log first: waited for (the next batch may take more of them).
    if (entry.writing > 0) return this.tail.then(() => this.take(taskId));
    this.byTask.delete(taskId);
    for (const e of entry.queued) this.taken.add(e);
    return entry.queued;
  }

  /** Events put in the queue in order: `logged` ones (in the log already) are only delivered. */
  private enqueue(events: readonly ColonyEvent[], logged: boolean): void {
    for (const taken of events) {
      // A copy: the taken event itself may still sit in the queue, skipped.
      const e = { ...taken };
      if (logged) this.logged.add(e);
      else this.queuedFor(e);
      this.pending.push(e);
    }
    if (events.length > 0 && !this.scheduled && !this.inFlight) {
      this.scheduled = true;
      setImmediate(() => this.persistBatch());
    }
  }

  private queuedFor(event: ColonyEvent): void {
    const taskId = taskIdOf(event);
    if (taskId === undefined) return;
    const entry = this.byTask.get(taskId);
    if (entry) entry.queued.push(event);
    else this.byTask.set(taskId, { queued: [event], writing: 0 });
  }

  /** A task's event leaves the queue for the batch being written (`writing` +1), or is written (-1). */
  private writingFor(event: ColonyEvent, delta: 1 | -1): void {
    const taskId = taskIdOf(event);
    const entry = taskId === undefined ? undefined : this.byTask.get(taskId);
    if (!entry || taskId === undefined) return;
    if (delta === 1) entry.queued.shift();
    entry.writing += delta;
    if (entry.writing === 0 && entry.queued.length === 0) this.byTask.delete(taskId);
  }

  /**
   * The persisted event log, written by every process sharing the store: oldest first (page on with
   * `afterId`), or newest first. Events published here appear once their batch is persisted (`flush`).
   */
  list(query: EventQuery = {}): Promise<StoredEvent[]> {
    return this.options.read ? this.options.read(query) : Promise.resolve([]);
  }

  /** Calls `listener` when other processes may have appended to the log (the `external` option's hints). */
  onExternalEvents(listener: () => void): () => void {
    return this.options.external ? this.options.external(listener) : () => undefined;
  }

  subscribe<P extends string = ColonyEventType>(filter: EventFilter<P>, handler: EventHandler<NoInfer<EventMatching<P>>>): Subscription {
    // The handler takes only the events its filter selects, and the subscriber offers it nothing else
    // (`matches`): widening its parameter type here is safe.
    const subscriber = new Subscriber(filter, handler as EventHandler, this.options.bufferSize, this.options.logger);
    this.subscribers.add(subscriber);
    return {
      unsubscribe: () => {
        subscriber.closed = true;
        this.subscribers.delete(subscriber);
      },
      get dropped() {
        return subscriber.dropped;
      },
    };
  }

  /**
   * Resolves when every event published so far is persisted and handed to subscribers, and the
   * subscribers have worked through them, waiting for a stuck subscriber no longer than `maxWaitMs`.
   */
  async flush(maxWaitMs = FLUSH_SUBSCRIBER_WAIT_MS): Promise<void> {
    while (this.pending.length > 0 || this.inFlight) {
      if (!this.inFlight) this.persistBatch();
      await this.tail;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.subscribers].map((s) => s.idle())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, maxWaitMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * One batch at a time: while one is being written, events published meanwhile gather and go in the
   * next, whole (a batch per turn of the event loop, queued behind a slow write, would fall further
   * behind the more events there are).
   */
  private persistBatch(): void {
    this.scheduled = false;
    if (this.inFlight) return;
    const batch = this.pending.splice(0, MAX_BATCH_EVENTS).filter((e) => !this.taken.has(e));
    if (batch.length === 0) {
      if (this.pending.length > 0) this.persistBatch();
      return;
    }
    for (const e of batch) if (!this.logged.has(e)) this.writingFor(e, 1);
    this.inFlight = true;
    this.tail = this.tail.then(() => this.persistAndDeliver(batch)).finally(() => {
      this.inFlight = false;
      if (this.pending.length > 0) this.persistBatch();
    });
  }

  private async persistAndDeliver(batch: ColonyEvent[]): Promise<void> {
    const { persist, logger } = this.options;
    const unlogged = batch.filter((e) => !this.logged.has(e));
    if (persist && unlogged.length > 0) {
      const rows = unlogged.map((e) => ({ type: e.type, source: e.source, data: e.data as unknown as JsonValue, correlationId: e.correlationId, timestamp: e.timestamp }));
      try {
        // A store that does not answer (a database restart) delays the batch, and the batches after it
        // (they wait on this one, so the log keeps publication order), rather than losing it.
        const ids = await retryStoreWrite(() => persist(rows), {
          policy: this.options.persistRetry ?? DEFAULT_STORE_RETRY,
          onRetry: (error, attempt, delayMs) => {
            if (attempt === 1) logger.warn({ err: error, count: batch.length, delayMs }, 'events could not be persisted yet; trying again');
          },
        });
        unlogged.forEach((e, i) => {
          e.id = ids[i] ?? 0;
        });
      } catch (error) {
        // Delivery goes on without ids: losing the audit row must not silence live subscribers.
        logger.error({ err: error, count: batch.length }, 'events could not be persisted');
      }
    } else if (!persist) {
      for (const e of batch) e.id = ++this.localSeq;
    }
    // Persisted (or given up on): nothing more to wait for.
    for (const e of unlogged) this.writingFor(e, -1);
    for (const event of batch) {
      for (const subscriber of this.subscribers) subscriber.offer(event);
    }
  }
}

class Subscriber {
  closed = false;
  dropped = 0;
  private readonly queue: ColonyEvent[] = [];
  private draining: Promise<void> | null = null;
  private readonly filter: EventFilter;
  private readonly handler: EventHandler;
  private readonly bufferSize: number;
  private readonly logger: Logger;

  constructor(filter: EventFilter, handler: EventHandler, bufferSize: number, logger: Logger) {
    this.filter = filter;
    this.handler = handler;
    this.bufferSize = bufferSize;
    this.logger = logger;
  }

  offer(event: ColonyEvent): void {
    if (this.closed || !matches(this.filter, event)) return;
    if (!this.draining && this.queue.length === 0) {
      // Idle subscriber: hand the event over now. A synchronous handler never queues (so it never
      // drops, whatever the batch size); an async one switches the subscriber to buffered delivery.
      this.draining = this.deliver(event);
      return;
    }
    if (this.queue.length >= this.bufferSize) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(event);
    if (!this.draining) this.draining = this.drain();
  }

  idle(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private deliver(event: ColonyEvent): Promise<void> | null {
    let pending: unknown;
    try {
      pending = this.handler(event);
    } catch (error) {
      this.logger.error({ err: error, eventType: event.type }, 'event subscriber failed');
      return null;
    }
    if (!pending || typeof (pending as Promise<void>).then !== 'function') return null;
    return (pending as Promise<void>).then(
      () => this.drain(),
      (error) => {
        this.logger.error({ err: error, eventType: event.type }, 'event subscriber failed');
        return this.drain();
      },
    );
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.queue.length > 0 && !this.closed) {
      const event = this.queue.shift() as ColonyEvent;
      try {
        await this.handler(event);
      } catch (error) {
        this.logger.error({ err: error, eventType: event.type }, 'event subscriber failed');
      }
    }
    this.draining = null;
  }
}

export function matches(filter: EventFilter, event: ColonyEvent): boolean {
  if (filter.correlationId !== undefined && event.correlationId !== filter.correlationId) return false;
  if (filter.source !== undefined && event.source !== filter.source) return false;
  if (!filter.types || filter.types.length === 0) return true;
  return filter.types.some((t) => (t.endsWith('.*') ? event.type.startsWith(t.slice(0, -1)) : t === event.type));
}

/** The task an event is about (`data.taskId`), if any. */
function taskIdOf(event: ColonyEvent): string | undefined {
  const taskId = (event.data as { taskId?: unknown }).taskId;
  return typeof taskId === 'string' ? taskId : undefined;
}
