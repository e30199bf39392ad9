import type { ErrorCode } from '../domain/errors.js';

/** Exit codes, stable for scripts: documented in the README's CLI reference. */
export const EXIT = {
  ok: 0,
  /** The work ran and failed (a task or workflow failed). */
  failed: 1,
  /** Bad input: usage, validation or configuration. */
  usage: 2,
  notFound: 3,
  /** The request conflicts with the current state (illegal transition, pool full). */
  conflict: 4,
  /** Storage or internal failure. */
  internal: 5,
  /** The work was stopped before it finished (a swarm stopped by a user), its partial results kept. */
  stopped: 6,
  /** A vote reached no decision (`colony consensus`: no consensus, or the quorum was not met). */
  noConsensus: 7,
  /** A yes/no vote decided reject (`colony consensus`), so that `colony consensus "…" && deploy` is safe. */
  rejected: 8,
  /** Stopped by SIGINT (Ctrl-C). */
  interrupted: 130,
  /** Stopped by SIGTERM. */
  terminated: 143,
} as const;

/** The domain taxonomy (domain/errors.ts), mapped once: every ErrorCode has its exit code. */
const EXIT_FOR_CODE: Record<ErrorCode, number> = {
  validation: EXIT.usage,
  config: EXIT.usage,
  not_found: EXIT.notFound,
  conflict: EXIT.conflict,
  capacity: EXIT.conflict,
  execution: EXIT.failed,
  timeout: EXIT.failed,
  cancelled: EXIT.failed,
  provider: EXIT.failed,
  storage: EXIT.internal,
  internal: EXIT.internal,
};

export function exitCodeFor(code: ErrorCode): number {
  return EXIT_FOR_CODE[code];
}
