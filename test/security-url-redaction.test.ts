import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/kernel/logger.js';
import { credentialFromQuery } from '../src/security/authenticator.js';
import { redactUrl, redactUrlsInText } from '../src/security/redact-url.js';
import { startApi } from './support/api-server.js';

/** Credentials in URLs: read from exactly one spelling, written to no log line in any spelling. */

const K = 'colony_abcdef012345_topsecretvaluetopsecretvalue';
const PLAIN = 'plain-secret-value-42';

describe('redactUrl', () => {
  it.each([
    ['/api/v2/events/stream?access_token=X', '/api/v2/events/stream?access_token=[redacted]'],
    ['/s?access%5Ftoken=X', '/s?access%5Ftoken=[redacted]'],
    ['/s?access%255Ftoken=X', '/s?access%255Ftoken=[redacted]'],
    ['/s?ACCESS_TOKEN=X', '/s?ACCESS_TOKEN=[redacted]'],
    ['/s?%61ccess_token=X', '/s?%61ccess_token=[redacted]'],
    ['/s?api_key=X&apikey=X&Api-Key=X', '/s?api_key=[redacted]&apikey=[redacted]&Api-Key=[redacted]'],
    ['/s?token=X;key=X&password=X&secret=X&pwd=X', '/s?token=[redacted];key=[redacted]&password=[redacted]&secret=[redacted]&pwd=[redacted]'],
    ['/s?access_token[]=X&client_secret=X&X-Amz-Signature=X', '/s?access_token[]=[redacted]&client_secret=[redacted]&X-Amz-Signature=[redacted]'],
    ['/s?types=task.*&limit=5&q=hello', '/s?types=task.*&limit=5&q=hello'],
    [`/s?innocent=${K}`, '/s?innocent=[redacted]'],
    [`/s?${K}`, '/s?[redacted]'],
    ['https://user:pass@example.com:8443/p?x=1#access_token=X', 'https://[redacted]@example.com:8443/p?x=1#access_token=[redacted]'],
    ['redis://:hunter2@cache:6379/0', 'redis://[redacted]@cache:6379/0'],
    ['https://example.com/a@b', 'https://example.com/a@b'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url.replace(/=X/g, `=${PLAIN}`))).toBe(expected);
  });

  it('redacts every absolute URL in free text', () => {
    expect(redactUrlsInText(`connecting to mysql://app:${PLAIN}@db/colony and https://h/?apiKey=${PLAIN} now`)).toBe(
      'connecting to mysql://[redacted]@db/colony and https://h/?apiKey=[redacted] now',
    );
  });
});

describe('the query credential', () => {
  it('is read from exactly `access_token`, once', () => {
    expect(credentialFromQuery(`/s?types=a&access_token=${K}`)).toBe(K);
    expect(credentialFromQuery('/s?access_token=a%2Bb')).toBe('a+b');
    expect(credentialFromQuery(`/s?access%5Ftoken=${K}`)).toBeUndefined();
    expect(credentialFromQuery(`/s?ACCESS_TOKEN=${K}`)).toBeUndefined();
    expect(credentialFromQuery(`/s?x_access_token=${K}`)).toBeUndefined();
    expect(credentialFromQuery(`/s?access_token=${K}&access_token=other`)).toBeUndefined();
    expect(credentialFromQuery('/s')).toBeUndefined();
  });
});

describe('logs', () => {
  it('the API server accepts only ?access_token= and writes no spelling of a credential to its log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const api = await startApi({}, { logger: pino({ level: 'trace' }, sink) });
    try {
      const { key } = await api.server.keys.create({ role: 'admin' });
      api.server.auth.keysChanged();
      const secret = key.split('_').at(-1) as string;
      const stream = '/api/v2/events/stream';
      // Other spellings do not authenticate...
      for (const query of [`access%5Ftoken=${key}`, `ACCESS_TOKEN=${key}`, `Access_Token=${key}`, `access_token=${key}&access_token=${key}`]) {
        expect((await api.request('GET', `${stream}?${query}`)).status, query).toBe(401);
      }
      // ...the documented one does (a plain GET is then refused for not being a WebSocket upgrade, not for credentials).
      expect((await api.request('GET', `${stream}?access_token=${key}`)).status).not.toBe(401);
      // Credentials under any name in any other URL.
      for (const query of [`api_key=${key}`, `apikey=${PLAIN}`, `token=${PLAIN}`, `key=${PLAIN}`, `password=${PLAIN}`, `secret=${PLAIN}`, `access%5Ftoken=${PLAIN}`, `x=${key}`]) {
        await api.request('GET', `/api/v2/tasks?${query}`, { token: key });
      }
      await new Promise((done) => setTimeout(done, 50));
      const text = lines.join('');
      expect(text).toContain('incoming request');
      expect(text).toContain('access%5Ftoken=[redacted]');
      expect(text).toContain('ACCESS_TOKEN=[redacted]');
      expect(text).not.toContain(key);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(PLAIN);
    } finally {
      await api.close();
    }
  });

  it('the colony logger redacts credentials in URL fields and in messages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'colony-log-'));
    try {
      const file = join(dir, 'colony.log');
      const logger = createLogger('info', 'colony', file);
      logger.info({ url: `https://h/p?access_token=${PLAIN}`, baseUrl: `https://user:${PLAIN}@h/v1` }, `connecting to redis://:${PLAIN}@cache:6379/?password=${PLAIN}`);
      logger.warn(`fetch https://h/cb?code=${PLAIN}&state=ok failed`);
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('redis://[redacted]@cache:6379/?password=[redacted]');
      expect(text).toContain('state=ok');
      expect(text).not.toContain(PLAIN);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
