import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The dashboard's files (web/dashboard, beside src/ and dist/), by the name they are served under. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export const DASHBOARD_PREFIX = '/dashboard';

/**
 * The web dashboard: three static files, read once at startup, served publicly (they carry no data;
 * the page asks the API for everything, with the caller's credentials). `/` is the dashboard too.
 */
export function registerDashboardRoutes(app: FastifyInstance): void {
  const dir = new URL('../../../web/dashboard/', import.meta.url);
  const content = new Map(Object.keys(FILES).map((name) => [name, readFileSync(fileURLToPath(new URL(name, dir)))]));
  const send = (name: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type(FILES[name] as string).header('cache-control', 'no-cache').send(content.get(name));

  app.get('/', { schema: { hide: true } }, send('index.html'));
  app.get(`${DASHBOARD_PREFIX}/`, { schema: { hide: true } }, send('index.html'));
  for (const name of Object.keys(FILES)) app.get(`${DASHBOARD_PREFIX}/${name}`, { schema: { hide: true } }, send(name));
}
