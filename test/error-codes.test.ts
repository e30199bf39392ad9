import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor } from '../src/cli/exit-codes.js';
import { ColonyError, ERROR_CODES, isErrorCode } from '../src/domain/errors.js';

describe('the error taxonomy at the CLI edge', () => {
  it('recognises exactly the taxonomy codes', () => {
    for (const code of ERROR_CODES) expect(isErrorCode(code)).toBe(true);
    for (const other of ['', 'ENOENT', 'bad_request', 'Validation', 2, null, undefined, {}]) expect(isErrorCode(other)).toBe(false);
    expect(isErrorCode(new ColonyError('conflict', 'x').code)).toBe(true);
  });

  it('maps every code to its documented exit code', () => {
    expect(Object.fromEntries(ERROR_CODES.map((code) => [code, exitCodeFor(code)]))).toEqual({
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
    });
  });
});
