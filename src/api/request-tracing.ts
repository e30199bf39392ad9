import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Span, Tracer } from '../ports/tracer.js';

/** HTTP status codes from here on fail a server span (a 4xx is the caller's mistake, not the server's). */
const SERVER_ERROR_STATUS = 500;

/**
 * A server span per API request, named by method and route (HTTP semantic conventions), the child of
 * the caller's `traceparent` header when it sends one. Its route handler runs with the span current,
 * so tasks it submits keep it as their parent and their attempts join the request's trace. Nothing is
 * installed when tracing is off.
 */
export function installRequestTracing(app: FastifyInstance, tracer: Tracer): void {
  if (!tracer.enabled) return;
  const spans = new WeakMap<FastifyRequest, Span>();

  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function traced(this: unknown, request, reply) {
      const span = spans.get(request);
      return span === undefined ? handler.call(this as never, request, reply) : tracer.withSpan(span, () => handler.call(this as never, request, reply));
    };
  });

  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    const header = request.headers.traceparent;
    spans.set(
      request,
      tracer.startSpan(route === undefined ? request.method : `${request.method} ${route}`, {
        kind: 'server',
        parent: typeof header === 'string' ? header : null,
        attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0], 'colony.request.id': request.id },
      }),
    );
  });

  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (span === undefined) return;
    spans.delete(request);
    span.setAttributes({ 'http.response.status_code': reply.statusCode });
    if (reply.statusCode >= SERVER_ERROR_STATUS) span.fail(new Error(`HTTP ${reply.statusCode}`));
    span.end();
  });
}
