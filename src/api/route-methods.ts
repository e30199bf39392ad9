/**
 * Which methods each registered path answers, so that a request for a known path with another method
 * is a 405 with an `Allow` header rather than a 404. Filled from the server's onRoute hook (one
 * instance per server); CORS preflight (OPTIONS) and catch-all routes do not make a path known.
 */
export class RouteMethods {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(method: string, url: string): void {
    if (method === 'OPTIONS' || url === '*' || url === '/*') return;
    let route = this.routes.get(url);
    if (!route) {
      route = { pattern: patternOf(url), methods: new Set() };
      this.routes.set(url, route);
    }
    route.methods.add(method);
  }

  /** The methods registered for a concrete path (sorted), or an empty list when no route has it. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes.values()) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }
}

/** `/api/v2/tasks/:id` → `^/api/v2/tasks/[^/]+$`; `/docs/*` → `^/docs/.*$`. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
