import { jwtVerify } from 'jose';
import { isRole, type Role } from './roles.js';

/** Clock skew tolerated on `exp` and `nbf`, between the token's issuer and this server. */
export const JWT_CLOCK_TOLERANCE_SECONDS = 5;
const JWT_ALGORITHMS = ['HS256'];

export interface JwtIdentity {
  subject: string | null;
  role: Role;
  /** When the token stops being valid (its `exp`, in ms), or null when it never expires. */
  expiresAt: number | null;
}

/**
 * Verifies HS256 JWT bearer tokens signed with the configured `server.jwtSecret`. A token must carry
 * a `role` claim (admin, operator or viewer); `exp` and `nbf` are honoured when present. Anything
 * else (another algorithm, a bad signature, an unknown role) is simply not a valid credential.
 */
export class JwtVerifier {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async verify(token: string): Promise<JwtIdentity | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: JWT_ALGORITHMS, clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS });
      if (!isRole(payload.role)) return null;
      return { subject: typeof payload.sub === 'string' ? payload.sub : null, role: payload.role, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null };
    } catch {
      return null;
    }
  }
}
