import { NotFoundError, ValidationError } from '../domain/errors.js';

/** Minimum characters of an abbreviated id, so that a stray keystroke does not match everything. */
export const MIN_ID_PREFIX = 6;

/**
 * Accepts a full id or a unique prefix of one (as people type them, like git's short hashes).
 * An ambiguous prefix is an error naming the candidates.
 */
export async function resolveIdPrefix(
  kind: string,
  idOrPrefix: string,
  find: (prefix: string, limit: number) => Promise<string[]>,
): Promise<string> {
  const text = idOrPrefix.trim();
  if (!/^[a-z0-9_]+$/i.test(text)) throw new ValidationError(`invalid ${kind} id "${idOrPrefix}"`);
  const matches = await find(text.toLowerCase(), 5);
  if (matches.includes(text.toLowerCase())) return text.toLowerCase();
  if (matches.length === 0 || text.length < MIN_ID_PREFIX) throw new NotFoundError(kind, idOrPrefix);
  if (matches.length > 1) {
    throw new ValidationError(`${kind} id "${idOrPrefix}" is ambiguous: ${matches.join(', ')}${matches.length === 5 ? ', …' : ''}`);
  }
  return matches[0] as string;
}
