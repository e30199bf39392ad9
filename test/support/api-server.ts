import { expect } from 'vitest';
import { createServer, type ColonyServer, type CreateServerOptions, type ServerAddress } from '../../src/api/create-server.js';
import type { Colony } from '../../src/app/colony.js';
import type { ConfigInput } from '../../src/app/config.js';
import { tempColony } from './temp-colony.js';

/** A colony on a temporary SQLite file with the API server on an ephemeral 127.0.0.1 port. */
export interface TestApi {
  colony: Colony;
  server: ColonyServer;
  address: ServerAddress;
  /** `http://127.0.0.1:<port>` */
  base: string;
  dir: string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  /** A body sent as it is (with `content-type` from headers, default application/json). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** Shorthand for `authorization: Bearer <token>`. */
  token?: string;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON (loosely typed: tests assert its shape). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export async function startApi(
  config: ConfigInput = {},
  options: CreateServerOptions & { startEngine?: boolean; dir?: string } = {},
): Promise<TestApi> {
  // `dir`: the project directory (a git repository, say), left in place on close; else a temp folder that is removed.
  const { dir: projectDir, ...serverOptions } = options;
  const { colony, dir, cleanup } = await tempColony({ ...config, server: { port: 0, ...config.server } }, projectDir === undefined ? {} : { dir: projectDir });
  let server: ColonyServer;
  try {
    server = await createServer(colony, { host: '127.0.0.1', port: 0, ...serverOptions });
  } catch (error) {
    await cleanup();
    throw error;
  }
  const address = await server.listen();
  if (serverOptions.startEngine) await colony.start();
  const base = address.origin;
  return {
    colony,
    server,
    address,
    base,
    dir,
    request: (method, path, opts = {}) => request(base, method, path, opts),
    async close() {
      await server.close();
      await cleanup();
    },
  };
}

export async function request(base: string, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    headers['content-type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Asserts an RFC 9457 problem response with this status (and code). */
export function expectProblem(response: ApiResponse, status: number, code?: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const p = response.json as Record<string, unknown>;
  expect(p).toMatchObject({ status, type: expect.stringMatching(/^urn:colony:problem:/), title: expect.any(String), detail: expect.any(String) });
  expect(p.instance).toEqual(expect.stringMatching(/^\//));
  expect(p.requestId).toBe(response.headers.get('x-request-id'));
  if (code) expect(p.code).toBe(code);
}
