import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Colony } from '../app/colony.js';
import type { Logger } from '../kernel/logger.js';
import { installRequestTracing } from './request-tracing.js';
import type { ApiKeys } from '../security/api-keys.js';
import { Authenticator, credentialFrom, credentialFromQuery, LOCAL_IDENTITY, type Identity } from '../security/authenticator.js';
import { redactUrl } from '../security/redact-url.js';
import { checkBindPolicy } from '../security/bind-policy.js';
import { accessFor, type Access } from '../security/route-access.js';
import { roleAllows } from '../security/roles.js';
import { API_PREFIX, EVENT_STREAM, MAX_PATH_PARAM_LENGTH, REQUEST_ID_PATTERN, type EventStreamLimits } from './api-defaults.js';
import type { ApiContext } from './api-context.js';
import { HttpError, installErrorHandling } from './error-handler.js';
import { installJsonBodyParser } from './json-body-parser.js';
import { EventStreamHub } from './event-stream-hub.js';
import { ApiMetrics } from './metrics.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerConsensusRoutes } from './routes/consensus.js';
import { registerStudioRoutes } from './routes/studio.js';
import { registerEventRoutes } from './routes/events.js';
import { registerKeyRoutes } from './routes/keys.js';
import { registerMemoryRoutes } from './routes/memory.js';
import { registerMcpRoutes } from './routes/mcp.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registerProviderRoutes } from './routes/providers.js';
import { registerSwarmRoutes } from './routes/swarms.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { registerWorkflowRoutes } from './routes/workflows.js';
import { openApiRouteDoc } from './openapi-route-doc.js';
import { RouteMethods } from './route-methods.js';
import { zodValidatorCompiler } from './zod-compiler.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; null when authentication failed or the route is public. */
    identity: Identity | null;
    authFailure: 'missing' | 'invalid' | null;
    /** The route's entry in the authorization table (undefined for unknown routes). */
    access: Access | undefined;
  }
}

export interface CreateServerOptions {
  /** Default: config `server.host`. */
  host?: string;
  /** Default: config `server.port`; 0 picks a free port. */
  port?: number;
  /** Default: config `server.rateLimit`. */
  rateLimit?: { max: number; windowMs: number };
  /** Overrides of the event stream's limits (tests use short heartbeats). */
  eventStream?: Partial<EventStreamLimits>;
  /** Default: the colony's logger. */
  logger?: Logger;
}

export interface ServerAddress {
  host: string;
  port: number;
  /** `http://host:port` */
  origin: string;
  api: string;
  docs: string;
  /** Colony Studio, the web UI. */
  dashboard: string;
  openapi: string;
  /** The WebSocket event stream (`ws://…`). */
  events: string;
}

export interface ColonyServer {
  readonly app: FastifyInstance;
  readonly keys: ApiKeys;
  readonly auth: Authenticator;
  readonly hub: EventStreamHub;
  /** Listens on the configured host and port; resolves with the actual address (port 0 → a free one). */
  listen(): Promise<ServerAddress>;
  /** Closes the event stream's clients (1001) and the server; the colony itself is the caller's to stop. */
  close(): Promise<void>;
}

/** Never logged: credentials in headers, and anything named like a secret. */
const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'jwtSecret',
  '*.jwtSecret',
  'token',
  '*.token',
  'secret',
  '*.secret',
];

const STREAM_URL = `${API_PREFIX}/events/stream`;

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** A request's URL for logs: no credential in the query, however it is spelled or encoded, is written out. */
function loggedUrl(url: string): string {
  return redactUrl(url);
}

/**
 * Builds the HTTP server over a colony: REST under /api/v2, the WebSocket event stream, OpenAPI and
 * docs, probes; authentication, the authorization table, rate limits, security headers and problem+json
 * errors. Refuses (ConfigError) to serve a non-loopback host without authentication set up.
 */
export async function createServer(colony: Colony, options: CreateServerOptions = {}): Promise<ColonyServer> {
  const config = colony.config.server;
  const host = options.host ?? config.host;
  const port = options.port ?? config.port;
  const keys = colony.apiKeys;
  const policy = checkBindPolicy({ host, jwtSecretConfigured: config.jwtSecret !== undefined, activeApiKeys: await keys.activeCount() });
  const auth = new Authenticator({ keys, jwtSecret: config.jwtSecret, alwaysRequired: policy.authAlwaysRequired });
  const streamLimits: EventStreamLimits = { ...EVENT_STREAM, ...options.eventStream };
  const limits = options.rateLimit ?? config.rateLimit;

  const logger = (options.logger ?? colony.logger).child(
    { component: 'api' },
    {
      redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: FastifyRequest) => ({ method: req.method, url: loggedUrl(req.url), remoteAddress: req.ip, reqId: req.id }),
      },
    },
  );
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  const hub = new EventStreamHub({ keys, events: colony.events, logger, limits: streamLimits });
  const metrics = new ApiMetrics(colony, { streamClients: () => hub.size });
  const ctx: ApiContext = { colony, keys, auth, hub, metrics, streamLimits, version: packageVersion(), startedAt: Date.now() };

  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON only: a text/plain body is a 415, not a string that fails validation further down.
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app);
  const routeMethods = new RouteMethods();
  installErrorHandling(app, (path) => routeMethods.allowed(path));

  app.decorateRequest('identity', null);
  app.decorateRequest('authFailure', null);
  app.decorateRequest('access', undefined);

  // Every route must have a line in the authorization table: a route without one stops the server here.
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      routeMethods.add(method, route.url);
      if (accessFor(method, route.url) === undefined) {
        throw new Error(`route ${method} ${route.url} has no entry in ROUTE_ACCESS (src/security/route-access.ts)`);
      }
    }
  });
  installRequestTracing(app, colony.tracer);

  // Authentication: who is calling (the rate limiter, next, counts per key or per address).
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const route = request.routeOptions.url;
    const access = route === undefined ? undefined : accessFor(request.method, route);
    request.access = access;
    if (access === undefined || access === 'public') return;
    if (!(await auth.required())) {
      request.identity = LOCAL_IDENTITY;
      return;
    }
    let credential = credentialFrom(request.headers);
    // Exactly `access_token` in the raw URL: the parsed query would also answer to `access%5Ftoken`.
    if (credential === undefined && route === STREAM_URL) credential = credentialFromQuery(request.url);
    const result = await auth.authenticate(credential);
    if (result.ok) request.identity = result.identity;
    else request.authFailure = result.reason;
  });

  // Authorization, before the body is even read: the route's minimum role from the one table.
  app.addHook('preParsing', async (request) => {
    const access = request.access;
    if (access === undefined || access === 'public') return;
    const identity = request.identity;
    if (!identity) {
      throw new HttpError(
        401,
        'unauthorized',
        request.authFailure === 'invalid'
          ? 'invalid credentials: the API key or token is unknown, revoked, expired or malformed'
          : 'authentication required: send "Authorization: Bearer <API key or JWT>" (create a key with `colony keys create`)',
        { 'www-authenticate': 'Bearer realm="colony"' },
      );
    }
    if (!roleAllows(identity.role, access)) {
      throw new HttpError(403, 'forbidden', `${request.method} ${request.routeOptions.url} needs the ${access} role; this caller is ${identity.role}`);
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  // Helmet's defaults, except upgrade-insecure-requests: the server speaks plain HTTP (TLS, where there
  // is any, ends at a proxy), and upgrading the docs' assets to https would break them.
  await app.register(helmet, { global: true, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
      exposedHeaders: ['x-request-id', 'x-total-count', 'retry-after'],
      allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
    });
  }
  const windowText = limits.windowMs % 60_000 === 0 ? `${limits.windowMs / 60_000} min` : `${limits.windowMs / 1000} s`;
  await app.register(rateLimit, {
    global: true,
    max: limits.max,
    timeWindow: limits.windowMs,
    // Per API key or token when the caller is known, per address otherwise (including bad credentials).
    keyGenerator: (request) => (request.identity && request.identity.kind !== 'local' ? `${request.identity.kind}:${request.identity.id}` : `ip:${request.ip}`),
    allowList: (request) => request.access === 'public',
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, 'rate_limited', `rate limit exceeded: at most ${context.max} requests per ${windowText}; retry in ${context.after}`),
  });
  await app.register(websocket, { options: { maxPayload: streamLimits.maxIncomingMessageBytes } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Colony API',
        version: ctx.version,
        description:
          'REST API of Colony, a multi-agent orchestration engine. Errors are RFC 9457 problem documents. ' +
          'Authenticate with `Authorization: Bearer <API key or JWT>` (not needed on a loopback server without keys).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`colony keys create`) or an HS256 JWT with a `role` claim' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    transform: ({ schema, url, route }) => openApiRouteDoc({ schema: schema as Record<string, unknown>, url, route }) as never,
  });
  await app.register(swaggerUi, { routePrefix: `${API_PREFIX}/docs`, uiConfig: { docExpansion: 'list', deepLinking: true } });

  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => app.swagger());
  registerProbeRoutes(app, ctx);
  registerKeyRoutes(app, ctx);
  registerAgentRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
  registerWorkflowRoutes(app, ctx);
  registerConsensusRoutes(app, ctx);
  registerSwarmRoutes(app, ctx);
  registerMemoryRoutes(app, ctx);
  registerProviderRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerSystemRoutes(app, ctx);
  registerMcpRoutes(app, ctx);
  registerStudioRoutes(app);

  await app.ready();
  await hub.start();

  let closed = false;
  return {
    app,
    keys,
    auth,
    hub,
    async listen() {
      await app.listen({ host, port });
      const address = app.server.address() as AddressInfo;
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const origin = `http://${shown}:${address.port}`;
      return {
        host: address.address,
        port: address.port,
        origin,
        api: `${origin}${API_PREFIX}`,
        docs: `${origin}${API_PREFIX}/docs`,
        dashboard: `${origin}/`,
        openapi: `${origin}${API_PREFIX}/openapi.json`,
        events: `ws://${shown}:${address.port}${STREAM_URL}`,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      hub.close();
      await app.close();
      metrics.close();
    },
  };
}
