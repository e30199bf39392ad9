import type { Role } from './roles.js';

/** Who may call a route: anyone (no credentials needed), or callers with at least this role. */
export type Access = 'public' | Role;

/**
 * THE authorization table: every route the server has, by `METHOD /path` exactly as registered,
 * with the minimum role it needs. The server refuses to start with a route missing from this table
 * (see `accessFor` and create-server's onRoute check), and the authorization-matrix test walks it
 * for every role, so a new route cannot be reachable without a decision written down here.
 *
 * viewer: GET only. operator: + create/cancel/retry tasks, spawn/pause/resume/terminate agents,
 * create/pause/resume/stop swarms, put questions to a vote, provider tests, memory writes. admin: everything, incl. keys and
 * diagnostics.
 */
export const ROUTE_ACCESS = {
  // Probes and documentation carry no data and must answer load balancers and browsers.
  'GET /health': 'public',
  'GET /ready': 'public',
  'GET /api/v2/openapi.json': 'public',
  // The Studio's pages (src/api/routes/studio.ts, STUDIO_PAGES): each is the same page, which
  // carries no data (it asks the API for everything, with the caller's credentials).
  'GET /': 'public',
  'GET /swarms': 'public',
  'GET /swarms/:id': 'public',
  'GET /tasks': 'public',
  'GET /tasks/:id': 'public',
  'GET /agents': 'public',
  'GET /memory': 'public',
  'GET /consensus': 'public',
  'GET /providers': 'public',
  'GET /keys': 'public',
  'GET /system': 'public',
  'GET /events': 'public',

  'GET /api/v2/auth/whoami': 'viewer',

  'GET /api/v2/agents': 'viewer',
  'POST /api/v2/agents': 'operator',
  'GET /api/v2/agents/:id': 'viewer',
  'PUT /api/v2/agents/:id': 'operator',
  'DELETE /api/v2/agents/:id': 'operator',
  'GET /api/v2/agents/:id/health': 'viewer',
  'GET /api/v2/agent-types': 'viewer',
  'GET /api/v2/agent-types/stats': 'viewer',

  'GET /api/v2/tasks': 'viewer',
  'POST /api/v2/tasks': 'operator',
  'GET /api/v2/tasks/:id': 'viewer',
  'PUT /api/v2/tasks/:id': 'operator',
  'DELETE /api/v2/tasks/:id': 'operator',
  'POST /api/v2/tasks/:id/assign': 'operator',
  'GET /api/v2/tasks/:id/transcript': 'viewer',
  'GET /api/v2/tasks/:id/history': 'viewer',
  'GET /api/v2/tasks/:id/changes': 'viewer',
  'GET /api/v2/workflows': 'viewer',

  'GET /api/v2/memory': 'viewer',
  'GET /api/v2/memory-namespaces': 'viewer',
  'POST /api/v2/memory': 'operator',
  'POST /api/v2/memory/batch': 'operator',
  'GET /api/v2/memory/:key': 'viewer',
  'PUT /api/v2/memory/:key': 'operator',
  'DELETE /api/v2/memory/:key': 'operator',

  'GET /api/v2/swarms': 'viewer',
  'POST /api/v2/swarms': 'operator',
  'GET /api/v2/swarms/:id': 'viewer',
  'GET /api/v2/swarms/:id/status': 'viewer',
  'GET /api/v2/swarms/:id/votes': 'viewer',
  'GET /api/v2/swarms/:id/usage': 'viewer',
  'GET /api/v2/swarms/:id/diff': 'viewer',
  'POST /api/v2/swarms/:id/control': 'operator',

  'GET /api/v2/consensus': 'viewer',
  'POST /api/v2/consensus': 'operator',
  'GET /api/v2/consensus/:id': 'viewer',

  'GET /api/v2/providers': 'viewer',
  'GET /api/v2/providers/usage': 'viewer',
  'POST /api/v2/providers/:id/test': 'operator',

  'GET /api/v2/events': 'viewer',
  'GET /api/v2/events/stream': 'viewer',

  'GET /api/v2/system/status': 'viewer',
  'GET /api/v2/system/health': 'viewer',
  'GET /api/v2/system/metrics': 'viewer',
  'POST /api/v2/system/diagnostics': 'admin',

  // MCP (Streamable HTTP): any authenticated caller reaches it; each tool checks its own role
  // (src/mcp/mcp-tool-roles.ts).
  'POST /mcp': 'viewer',
  'GET /mcp': 'viewer',
  'DELETE /mcp': 'viewer',

  'GET /api/v2/keys': 'admin',
  'POST /api/v2/keys': 'admin',
  'DELETE /api/v2/keys/:id': 'admin',
} as const satisfies Record<string, Access>;

export type RouteKey = keyof typeof ROUTE_ACCESS;

/** Routes under these prefixes (the docs UI's and the Studio's files, the old dashboard address) are public. */
export const PUBLIC_ROUTE_PREFIXES = ['/api/v2/docs', '/studio', '/dashboard'] as const;

/**
 * The access rule of a registered route; undefined when the table has none (the server treats that
 * as a programming error at startup). HEAD is GET's; OPTIONS (CORS preflight) carries no credentials
 * by definition and is public.
 */
export function accessFor(method: string, url: string): Access | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  if (m === 'OPTIONS') return 'public';
  const exact = (ROUTE_ACCESS as Record<string, Access>)[`${m} ${url}`];
  if (exact) return exact;
  if (m === 'GET' && PUBLIC_ROUTE_PREFIXES.some((p) => url === p || url.startsWith(`${p}/`))) return 'public';
  return undefined;
}
