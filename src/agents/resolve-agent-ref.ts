import type { AgentRecord } from '../domain/agent.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { resolveIdPrefix } from '../kernel/resolve-id.js';
import type { Store } from '../ports/store.js';

/** Matches named in an ambiguity error, at most. */
const MAX_LISTED_MATCHES = 5;

/** Looks an id up by its characters only: anything else (a dash, a space) can only be a name. */
const ID_LIKE = /^[a-z0-9_]+$/i;

/** What an agent name may be (as `agents.spawn` checks it). */
const NAME_LIKE = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;

/**
 * An agent as people refer to it: its id, a unique prefix of its id, or its name. The exact id wins,
 * then the name, then the prefix. A name is looked up among live agents first, so a terminated
 * namesake does not get in the way; a name that several agents share is a usage error listing them.
 */
export async function resolveAgentRef(ref: string, store: Pick<Store, 'agents'>): Promise<string> {
  const text = ref.trim();
  if (!ID_LIKE.test(text) && !NAME_LIKE.test(text)) throw new ValidationError(`invalid agent id or name "${ref}"`);
  if (ID_LIKE.test(text)) {
    const exact = await store.agents.get(text.toLowerCase());
    if (exact) return exact.id;
  }
  const named = await store.agents.list({ name: text, limit: MAX_LISTED_MATCHES + 1, order: 'created_desc' });
  const live = named.filter((a) => a.status !== 'terminated');
  const candidates = live.length > 0 ? live : named;
  if (candidates.length === 1) return (candidates[0] as AgentRecord).id;
  if (candidates.length > 1) {
    const listed = candidates.slice(0, MAX_LISTED_MATCHES).map((a) => `${a.id} (${a.status})`);
    throw new ValidationError(
      `agent name "${text}" is ambiguous: ${listed.join(', ')}${candidates.length > MAX_LISTED_MATCHES ? ', …' : ''}; give an id (a unique prefix is enough)`,
      { details: { name: text, matches: candidates.map((a) => a.id) } },
    );
  }
  if (!ID_LIKE.test(text)) throw new NotFoundError('agent', text);
  return resolveIdPrefix('agent', text, (prefix, limit) => store.agents.findIdsByPrefix(prefix, limit));
}
