import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeNotifier, ChangeTopic } from '../../src/ports/change-notifier.js';
import { until } from './cache.js';

/**
 * A backend for the suite: `open` returns a new ChangeNotifier (as another process would have) on the
 * same backend as every other instance of this fixture; `cleanup` removes what the fixture left, after
 * the suite closed every instance it opened.
 */
export interface ChangeNotifierFixture {
  open(): Promise<ChangeNotifier>;
  cleanup(): Promise<void>;
}

/** Generous: a hang guard, never a timing assertion. */
const READY_MS = 30_000;

/** Counts the hints a listener hears. */
class Heard {
  count = 0;
  readonly listener = (): void => {
    this.count++;
  };
}

/**
 * The ChangeNotifier port's conformance suite: every adapter runs it. Hints may be spurious (a listener
 * is also called when listening starts), so the suite counts hints from a baseline and checks that what
 * must arrive does; what must not arrive is checked against a later hint that did (each backend delivers
 * one sender's hints to a listener in order).
 */
export function runChangeNotifierConformance(name: string, create: () => Promise<ChangeNotifierFixture>): void {
  describe(`ChangeNotifier conformance: ${name}`, () => {
    let fixture: ChangeNotifierFixture;
    let opened: ChangeNotifier[];

    const open = async (): Promise<ChangeNotifier> => {
      const instance = await fixture.open();
      opened.push(instance);
      return instance;
    };

    /** An instance listening to every topic, ready. */
    const listening = async (): Promise<{ notifier: ChangeNotifier; heard: Record<ChangeTopic, Heard> }> => {
      const notifier = await open();
      const heard = { tasks: new Heard(), events: new Heard() };
      notifier.listen('tasks', heard.tasks.listener);
      notifier.listen('events', heard.events.listener);
      expect(await notifier.ready(READY_MS)).toBe(true);
      return { notifier, heard };
    };

    beforeEach(async () => {
      fixture = await create();
      opened = [];
    });

    afterEach(async () => {
      for (const instance of opened) await instance.close();
      await fixture.cleanup();
    });

    it('says whether it crosses processes, and is ready', async () => {
      const notifier = await open();
      expect(typeof notifier.crossProcess).toBe('boolean');
      expect(await notifier.ready(READY_MS)).toBe(true);
    });

    it("delivers each topic's hints to another instance's listeners of that topic", async () => {
      const { heard } = await listening();
      const sender = await open();
      const tasks = heard.tasks.count;
      sender.notify('tasks');
      await until(() => heard.tasks.count > tasks, READY_MS, 'the tasks hint');
      const events = heard.events.count;
      sender.notify('events');
      await until(() => heard.events.count > events, READY_MS, 'the events hint');
    });

    it('reaches every other instance', async () => {
      const a = await listening();
      const b = await listening();
      const sender = await open();
      const before = [a.heard.tasks.count, b.heard.tasks.count];
      sender.notify('tasks');
      await until(() => a.heard.tasks.count > (before[0] as number) && b.heard.tasks.count > (before[1] as number), READY_MS, 'both instances to hear');
    });

    it('delivers a burst at least once, never more often than it was sent', async () => {
      const { heard } = await listening();
      const sender = await open();
      const before = heard.tasks.count;
      for (let i = 0; i < 1_000; i++) sender.notify('tasks');
      await until(() => heard.tasks.count > before, READY_MS, 'the burst');
      // The last hint of the burst has arrived once a hint sent after it has.
      const events = heard.events.count;
      sender.notify('events');
      await until(() => heard.events.count > events, READY_MS, 'the hint after the burst');
      expect(heard.tasks.count - before).toBeGreaterThanOrEqual(1);
      expect(heard.tasks.count - before).toBeLessThanOrEqual(1_000);
    });

    it("does not call the sending instance's own listeners", async () => {
      const a = await listening();
      const b = await listening();
      const own = a.heard.tasks.count;
      const other = b.heard.tasks.count;
      a.notifier.notify('tasks');
      await until(() => b.heard.tasks.count > other, READY_MS, 'the other instance to hear');
      // b's hint is sent after a's was delivered: once it reaches a, a's own would have too.
      const events = a.heard.events.count;
      b.notifier.notify('events');
      await until(() => a.heard.events.count > events, READY_MS, "the other instance's hint");
      expect(a.heard.tasks.count).toBe(own);
    });

    it('stops a listener that unlistens, and keeps the others; a throwing listener stops nobody', async () => {
      const notifier = await open();
      const gone = new Heard();
      const kept = new Heard();
      const unlisten = notifier.listen('tasks', gone.listener);
      notifier.listen('tasks', () => {
        throw new Error('a listener that fails');
      });
      notifier.listen('tasks', kept.listener);
      expect(await notifier.ready(READY_MS)).toBe(true);
      unlisten();
      unlisten();
      const before = { gone: gone.count, kept: kept.count };
      (await open()).notify('tasks');
      // Listeners of one instance are called together: once `kept` has heard, `gone` would have.
      await until(() => kept.count > before.kept, READY_MS, 'the kept listener');
      expect(gone.count).toBe(before.gone);
    });

    it('sends what a closing instance still had to send (a short-lived process)', async () => {
      const { heard } = await listening();
      const before = heard.tasks.count;
      const sender = await open();
      sender.notify('tasks');
      sender.notify('tasks');
      await sender.close();
      await until(() => heard.tasks.count > before, READY_MS, 'the hint of the closed instance');
    });

    it('after close, notify and listen do nothing, ready is false, and close is idempotent', async () => {
      const { heard } = await listening();
      const closed = await listening();
      await closed.notifier.close();
      const before = closed.heard.tasks.count;
      closed.notifier.notify('tasks');
      const unlisten = closed.notifier.listen('tasks', () => undefined);
      expect(typeof unlisten).toBe('function');
      unlisten();
      expect(await closed.notifier.ready(1_000)).toBe(false);
      await expect(closed.notifier.close()).resolves.toBeUndefined();
      // Others still hear each other; the closed one hears nothing.
      const events = heard.events.count;
      const sender = await open();
      sender.notify('tasks');
      sender.notify('events');
      await until(() => heard.events.count > events, READY_MS, 'a hint between open instances');
      expect(closed.heard.tasks.count).toBe(before);
    });
  });
}
