import { isIP } from 'node:net';
import { ConfigError } from '../domain/errors.js';

/** Whether `host` is a loopback address (only this machine can connect to it). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export interface BindPolicyInput {
  host: string;
  jwtSecretConfigured: boolean;
  activeApiKeys: number;
}

export interface BindPolicy {
  /**
   * Authentication is required on every non-public route whatever happens to the keys later (a host
   * others can reach). When false (loopback), it is required as soon as a key or a JWT secret exists.
   */
  authAlwaysRequired: boolean;
}

/**
 * The server binds to loopback by default and may run without authentication there (local
 * development). Anywhere else it refuses to start until authentication is set up.
 */
export function checkBindPolicy(input: BindPolicyInput): BindPolicy {
  if (isLoopbackHost(input.host)) return { authAlwaysRequired: false };
  if (!input.jwtSecretConfigured && input.activeApiKeys === 0) {
    throw new ConfigError(
      `refusing to listen on ${input.host} without authentication: anyone who can reach this address could run commands on this machine. ` +
        'Set it up first: create an admin API key with `colony keys create --role admin` (then send it as "Authorization: Bearer <key>"), ' +
        'or configure a JWT secret (server.jwtSecret in .colony/config.yaml, or COLONY_JWT_SECRET). Or listen on 127.0.0.1 only.',
      { details: { host: input.host } },
    );
  }
  return { authAlwaysRequired: true };
}
