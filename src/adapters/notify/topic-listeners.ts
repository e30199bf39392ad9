import type { Logger } from '../../kernel/logger.js';
import type { ChangeTopic } from '../../ports/change-notifier.js';

/** The listeners of each topic of a ChangeNotifier, called so that one that throws neither stops the others nor the caller. */
export class TopicListeners {
  private readonly byTopic = new Map<ChangeTopic, Set<() => void>>();
  private readonly logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.logger = logger;
  }

  /** Adds a listener; returns the function that removes it (idempotent). */
  add(topic: ChangeTopic, listener: () => void): () => void {
    let set = this.byTopic.get(topic);
    if (!set) {
      set = new Set();
      this.byTopic.set(topic, set);
    }
    // A wrapper per call: the same function listening twice is removed once per unlisten.
    const entry = (): void => listener();
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Topics with at least one listener. */
  topics(): ChangeTopic[] {
    return [...this.byTopic].filter(([, set]) => set.size > 0).map(([topic]) => topic);
  }

  call(topic: ChangeTopic): void {
    const set = this.byTopic.get(topic);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener();
      } catch (error) {
        this.logger?.error({ err: error, topic }, 'a change listener failed');
      }
    }
  }

  clear(): void {
    this.byTopic.clear();
  }
}
