import type { IncomingHttpHeaders } from 'node:http';
import { looksLikeApiKey, type ApiKeys } from './api-keys.js';
import { JwtVerifier } from './jwt.js';
import type { Role } from './roles.js';

/** Who is calling. `local` is the implicit admin of a loopback server with no auth configured. */
export interface Identity {
  kind: 'api-key' | 'jwt' | 'local';
  /** The key id, the token's subject, or `local`. */
  id: string;
  role: Role;
  name: string | null;
  /** A JWT's expiry (ms): a long-lived connection made with it ends then. Absent: no expiry. */
  expiresAt?: number | null;
}

export const LOCAL_IDENTITY: Identity = Object.freeze({ kind: 'local', id: 'local', role: 'admin', name: null });

/** How long the "is any API key configured?" answer is reused before it is read again. */
export const AUTH_MODE_RECHECK_MS = 1_000;

export interface AuthenticatorOptions {
  keys: ApiKeys;
  jwtSecret?: string | undefined;
  /** Require credentials even when no key exists (a server others can reach). */
  alwaysRequired: boolean;
  now?: () => number;
}

export type AuthResult = { ok: true; identity: Identity } | { ok: false; reason: 'missing' | 'invalid' };

/**
 * Turns a request's credentials into an Identity. Credentials: `Authorization: Bearer <API key or
 * JWT>`, or `X-API-Key: <API key>`. On a loopback server with no key and no JWT secret, nothing is
 * required and every caller is the local admin; creating the first key (even from another process)
 * turns authentication on within AUTH_MODE_RECHECK_MS.
 */
export class Authenticator {
  private readonly options: AuthenticatorOptions;
  private readonly jwt: JwtVerifier | null;
  private keysExist: { value: boolean; at: number } | null = null;

  constructor(options: AuthenticatorOptions) {
    this.options = options;
    this.jwt = options.jwtSecret ? new JwtVerifier(options.jwtSecret) : null;
  }

  /** Whether requests must carry credentials now. */
  async required(): Promise<boolean> {
    if (this.options.alwaysRequired || this.jwt) return true;
    const now = (this.options.now ?? Date.now)();
    if (!this.keysExist || now - this.keysExist.at >= AUTH_MODE_RECHECK_MS) {
      this.keysExist = { value: (await this.options.keys.activeCount()) > 0, at: now };
    }
    return this.keysExist.value;
  }

  /** Forget the cached mode (after keys were created or revoked through this process). */
  keysChanged(): void {
    this.keysExist = null;
  }

  async authenticate(credential: string | undefined): Promise<AuthResult> {
    if (!credential) return { ok: false, reason: 'missing' };
    if (credential.length > MAX_CREDENTIAL_LENGTH) return { ok: false, reason: 'invalid' };
    if (looksLikeApiKey(credential)) {
      const key = await this.options.keys.verify(credential);
      return key ? { ok: true, identity: { kind: 'api-key', id: key.id, role: key.role, name: key.name } } : { ok: false, reason: 'invalid' };
    }
    if (this.jwt) {
      const token = await this.jwt.verify(credential);
      if (token) return { ok: true, identity: { kind: 'jwt', id: token.subject ?? 'jwt', role: token.role, name: token.subject, expiresAt: token.expiresAt } };
    }
    return { ok: false, reason: 'invalid' };
  }
}

/** Longest credential looked at; anything longer is not one of ours. */
const MAX_CREDENTIAL_LENGTH = 8_192;

/** The credential a request carries, from `Authorization: Bearer …` or `X-API-Key`. */
export function credentialFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  let credential: string | undefined;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    credential = match ? match[1] : authorization.trim() || undefined;
  } else {
    const apiKey = headers['x-api-key'];
    credential = typeof apiKey === 'string' ? apiKey.trim() || undefined : undefined;
  }
  return credential;
}

/**
 * The one query parameter a credential may come in, for browsers' WebSockets, which cannot set
 * headers. Spelled exactly so: `access%5Ftoken`, `ACCESS_TOKEN` and friends are not credentials.
 */
export const QUERY_CREDENTIAL_PARAM = 'access_token';

/**
 * The credential in a request target's query (`/path?access_token=…`), read from the raw URL so that
 * only the documented spelling counts (a framework's parsed query has already decoded the name).
 * Given more than once, it is ambiguous and none counts.
 */
export function credentialFromQuery(url: string): string | undefined {
  const question = url.indexOf('?');
  if (question === -1) return undefined;
  const prefix = `${QUERY_CREDENTIAL_PARAM}=`;
  const values = url
    .slice(question + 1)
    .split('#')[0]!
    .split('&')
    .filter((part) => part.startsWith(prefix))
    .map((part) => part.slice(prefix.length));
  if (values.length !== 1) return undefined;
  try {
    return decodeURIComponent((values[0] as string).replace(/\+/g, ' ')) || undefined;
  } catch {
    return undefined;
  }
}
