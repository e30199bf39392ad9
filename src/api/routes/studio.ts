import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the Studio's own files are served from (web/studio, beside src/ and dist/). */
export const STUDIO_PREFIX = '/studio';

/**
 * The Studio's pages: each of these paths answers with the same index.html, and the page's router
 * draws the view. They are real URLs so a swarm's or a task's page can be shared as a link.
 */
export const STUDIO_PAGES = [
  '/',
  '/swarms',
  '/swarms/:id',
  '/tasks',
  '/tasks/:id',
  '/agents',
  '/memory',
  '/consensus',
  '/providers',
  '/keys',
  '/system',
  '/events',
] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Libraries the Studio loads as ES modules, served from the installed package (no build step): served name → package and its self-contained ESM file. */
const VENDOR: Record<string, { pkg: string; file: string }> = {
  'dagre.js': { pkg: '@dagrejs/dagre', file: 'dist/dagre.esm.js' },
};

function studioFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !(extname(entry.name) in TYPES)) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split(sep).join('/'), readFileSync(path));
  }
  return files;
}

function vendorFiles(): Map<string, Buffer> {
  const require = createRequire(import.meta.url);
  const files = new Map<string, Buffer>();
  for (const [name, { pkg, file }] of Object.entries(VENDOR)) {
    // The package's own directory, found through its exported package.json (the file itself is not exported).
    files.set(`vendor/${name}`, readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), file)));
  }
  return files;
}

/**
 * Colony Studio: static files read once at startup, served publicly (they carry no data; the page
 * asks the API for everything, with the caller's credentials). The old `/dashboard/` address
 * redirects to `/`.
 */
export function registerStudioRoutes(app: FastifyInstance): void {
  const dir = fileURLToPath(new URL('../../../web/studio/', import.meta.url));
  const files = new Map([...studioFiles(dir), ...vendorFiles()]);
  const index = files.get('index.html') as Buffer;
  const page = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type(TYPES['.html'] as string).header('cache-control', 'no-cache').send(index);

  for (const path of STUDIO_PAGES) app.get(path, { schema: { hide: true } }, page);
  app.get(`${STUDIO_PREFIX}/*`, { schema: { hide: true } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const body = files.get(name);
    if (!body) return reply.code(404).type('text/plain').send('not found');
    return reply.type(TYPES[extname(name)] as string).header('cache-control', 'no-cache').send(body);
  });
  app.get('/dashboard', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/'));
  app.get('/dashboard/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/'));
}
