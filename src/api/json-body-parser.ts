import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../domain/errors.js';
import { jsonTextDepth, MAX_DOCUMENT_DEPTH } from '../domain/json-depth.js';

/**
 * Fastify's JSON body parser (prototype poisoning refused, as by default), behind a check of the
 * body's nesting: a body nested deeper than MAX_DOCUMENT_DEPTH is a 400 naming the problem, on every
 * route (MCP's included), before anything recursive (parsing, schemas, handlers) sees it.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonTextDepth(text, MAX_DOCUMENT_DEPTH) > MAX_DOCUMENT_DEPTH) {
      done(new ValidationError(`body: JSON nested more than ${MAX_DOCUMENT_DEPTH} levels deep`, { details: { field: 'body' } }), undefined);
      return;
    }
    parse(request, text, done);
  });
}
