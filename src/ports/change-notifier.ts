/**
 * The ChangeNotifier port: wake-up hints between processes sharing a store, so that workers and event
 * streams react to another process's writes at once instead of at their next poll (DESIGN.md, "Many
 * processes, one truth"). Adapters: `adapters/notify/postgres-change-notifier.ts` (LISTEN/NOTIFY),
 * `adapters/notify/redis-change-notifier.ts` (pub/sub), `adapters/notify/local-change-notifier.ts`
 * (one process: SQLite, where polls find other processes' writes). Conformance:
 * `test/conformance/change-notifier.ts`.
 *
 * Contract:
 * - A notification is a hint, never data: the store stays the truth. A lost one costs latency (the
 *   listener's poll finds the change), a spurious one a needless read; neither costs correctness.
 * - `notify` never waits and never throws. An adapter may coalesce: several notifications of a topic
 *   close together reach listeners as one.
 * - A notification reaches the listeners of the topic on every other instance sharing the backend
 *   (other processes, or other colonies in this process), not those of the instance that sent it:
 *   its process knows already.
 * - A listener is also called whenever listening (re)starts after a gap (connected, reconnected),
 *   since notifications sent meanwhile were missed.
 */
export interface ChangeNotifier {
  /** Whether notifications cross processes; false: other processes' changes are found by polling only. */
  readonly crossProcess: boolean;
  /** Tells the other instances' listeners that `topic` may have changed. */
  notify(topic: ChangeTopic): void;
  /** Calls `listener` on each hint about `topic`; returns the function that stops it. A throwing listener is logged. */
  listen(topic: ChangeTopic, listener: () => void): () => void;
  /**
   * Resolves true once the backend is reachable and every topic with listeners is being listened to,
   * false after `timeoutMs` or once closed.
   */
  ready(timeoutMs: number): Promise<boolean>;
  /** Sends what is still coalescing (within the connection timeout), then stops listening. Idempotent. */
  close(): Promise<void>;
}

/**
 * - `tasks`: ready work may exist (tasks submitted, promoted, retried, recovered; an agent freed).
 * - `events`: the event log grew.
 */
export type ChangeTopic = 'tasks' | 'events';

export const CHANGE_TOPICS: readonly ChangeTopic[] = ['tasks', 'events'];
