import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/ports/cache.js';

/**
 * A backend for the suite: `open` returns a new Cache instance (as another process would have)
 * connected to the same backend and namespace as every other instance of this fixture; `cleanup`
 * removes whatever the fixture left, after the suite closed every instance it opened.
 */
export interface CacheFixture {
  open(): Promise<Cache>;
  cleanup(): Promise<void>;
}

/** The Cache port's conformance suite: every Cache adapter runs it. */
export function runCacheConformance(name: string, create: () => Promise<CacheFixture>): void {
  describe(`Cache conformance: ${name}`, () => {
    let fixture: CacheFixture;
    let opened: Cache[];
    let cache: Cache;

    const open = async (): Promise<Cache> => {
      const instance = await fixture.open();
      opened.push(instance);
      return instance;
    };

    beforeEach(async () => {
      fixture = await create();
      opened = [];
      cache = await open();
    });

    afterEach(async () => {
      for (const instance of opened) await instance.close();
      await fixture.cleanup();
    });

    it('is healthy and describes itself', () => {
      expect(cache.healthy).toBe(true);
      expect(cache.description.length).toBeGreaterThan(0);
    });

    it('misses a key never set', async () => {
      expect(await cache.get('never-set')).toBeUndefined();
    });

    it('round-trips arbitrary bytes, and overwrites', async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await cache.set('bin', bytes, null);
      const got = await cache.get('bin');
      expect(got).toBeInstanceOf(Buffer);
      expect(got?.equals(bytes)).toBe(true);
      await cache.set('bin', Buffer.from('second'), null);
      expect((await cache.get('bin'))?.toString()).toBe('second');
    });

    it('round-trips a large value and keys with unusual characters', async () => {
      const big = Buffer.alloc(2 * 1024 * 1024, 7);
      await cache.set('big', big, 60_000);
      expect((await cache.get('big'))?.equals(big)).toBe(true);
      const odd = 'ns with space\u0000kéy/∑ :*?';
      await cache.set(odd, Buffer.from('odd'), 60_000);
      expect((await cache.get(odd))?.toString()).toBe('odd');
      expect(await cache.get('ns with space')).toBeUndefined();
    });

    it('deletes, and deleting a missing key is a no-op', async () => {
      await cache.set('d', Buffer.from('x'), null);
      await cache.delete('d');
      expect(await cache.get('d')).toBeUndefined();
      await expect(cache.delete('d')).resolves.toBeUndefined();
    });

    it('forgets an entry after its TTL, keeps one without a TTL', async () => {
      // Two seconds: readable right after the write even on a loaded machine, then gone by the
      // server's own clock (polled, not slept for).
      await cache.set('short', Buffer.from('s'), 2_000);
      await cache.set('forever', Buffer.from('f'), null);
      await cache.set('long', Buffer.from('l'), 60_000);
      expect((await cache.get('short'))?.toString()).toBe('s');
      await until(async () => (await cache.get('short')) === undefined, 30_000, 'the short entry to expire');
      expect((await cache.get('forever'))?.toString()).toBe('f');
      expect((await cache.get('long'))?.toString()).toBe('l');
    });

    it('does not keep an entry set with a TTL of zero or less', async () => {
      await cache.set('zero', Buffer.from('old'), null);
      await cache.set('zero', Buffer.from('z'), 0);
      expect(await cache.get('zero')).toBeUndefined();
      await cache.set('neg', Buffer.from('n'), -10);
      expect(await cache.get('neg')).toBeUndefined();
    });

    it('ready resolves true once the backend answers, so a writer can wait for it before publishing', async () => {
      const fresh = await open();
      await expect(fresh.ready(10_000)).resolves.toBe(true);
      expect(fresh.healthy).toBe(true);
    });

    it('shares entries between instances on the same backend', async () => {
      const other = await open();
      await cache.set('shared', Buffer.from('from-one'), 60_000);
      expect((await other.get('shared'))?.toString()).toBe('from-one');
      await other.delete('shared');
      expect(await cache.get('shared')).toBeUndefined();
    });

    it('delivers invalidations to another instance; an unsubscribed listener hears nothing more', async () => {
      const other = await open();
      const heard: string[] = [];
      const unsubscribe = other.onInvalidation((key) => heard.push(key));
      await cache.publishInvalidation('ns\u0000key one');
      await until(() => heard.length >= 1);
      expect(heard).toEqual(['ns\u0000key one']);

      unsubscribe();
      const stillListening: string[] = [];
      other.onInvalidation((key) => stillListening.push(key));
      await cache.publishInvalidation('second');
      await until(() => stillListening.length >= 1);
      expect(heard).toEqual(['ns\u0000key one']);
      expect(stillListening).toEqual(['second']);
    });

    it('after close, calls resolve as misses and no-ops', async () => {
      const other = await open();
      await other.close();
      expect(other.healthy).toBe(false);
      await expect(other.get('x')).resolves.toBeUndefined();
      await expect(other.set('x', Buffer.from('y'), 1000)).resolves.toBeUndefined();
      await expect(other.delete('x')).resolves.toBeUndefined();
      await expect(other.publishInvalidation('x')).resolves.toBeUndefined();
      await expect(other.ready(10_000)).resolves.toBe(false);
      await expect(other.close()).resolves.toBeUndefined();
      expect(await cache.get('x')).toBeUndefined();
    });
  });
}

/** Polls `condition` until it holds; fails after `maxWaitMs` (a hang guard, not a timing assert). */
export async function until(condition: () => boolean | Promise<boolean>, maxWaitMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A private redis-server on a free port (no persistence), for tests that stop and restart Redis:
 * the shared server on 6379 is never touched. `stop` kills it (SIGKILL, like a crash); `start`
 * starts it again on the same port.
 */
export class TestRedisServer {
  readonly port: number;
  private child: ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<TestRedisServer> {
    const server = new TestRedisServer(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${this.port}: ${output}`)), 10_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        if (output.includes('Ready to accept connections')) return;
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
    child.stdout?.resume();
    child.stderr?.resume();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!port) throw new Error('could not find a free port');
  return port;
}
