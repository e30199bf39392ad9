import type { Logger } from '../../kernel/logger.js';
import type { ChangeNotifier, ChangeTopic } from '../../ports/change-notifier.js';
import { TopicListeners } from './topic-listeners.js';

export interface LocalChangeNotifierOptions {
  /**
   * The instances that hear each other, as processes sharing a database would (this one joins it).
   * Default: a set of its own, so that nothing is ever heard: the SQLite colony, whose polls find what
   * other processes do.
   */
  peers?: Set<LocalChangeNotifier>;
  logger?: Logger;
}

/**
 * The ChangeNotifier within one process: a notification reaches the other instances of its peer set,
 * in a later turn of the event loop (so `notify` never runs listeners' code), once per topic however
 * many were sent meanwhile. It never crosses processes.
 */
export class LocalChangeNotifier implements ChangeNotifier {
  readonly crossProcess = false;
  private readonly peers: Set<LocalChangeNotifier>;
  private readonly listeners: TopicListeners;
  /** Topics heard and about to be delivered (one delivery each, however many arrive meanwhile). */
  private readonly heard = new Set<ChangeTopic>();
  private closed = false;

  constructor(options: LocalChangeNotifierOptions = {}) {
    this.peers = options.peers ?? new Set();
    this.peers.add(this);
    this.listeners = new TopicListeners(options.logger);
  }

  notify(topic: ChangeTopic): void {
    if (this.closed) return;
    for (const peer of this.peers) if (peer !== this) peer.hear(topic);
  }

  listen(topic: ChangeTopic, listener: () => void): () => void {
    if (this.closed) return () => undefined;
    return this.listeners.add(topic, listener);
  }

  ready(): Promise<boolean> {
    return Promise.resolve(!this.closed);
  }

  close(): Promise<void> {
    this.closed = true;
    this.peers.delete(this);
    this.listeners.clear();
    return Promise.resolve();
  }

  private hear(topic: ChangeTopic): void {
    if (this.heard.has(topic)) return;
    this.heard.add(topic);
    setImmediate(() => {
      this.heard.delete(topic);
      if (!this.closed) this.listeners.call(topic);
    });
  }
}
