import { describe, expect, it } from 'vitest';
import { withDeadline } from '../src/providers/call-deadline.js';
import { rejectionOf } from './support/rejection.js';

// The provider wrapper's per-attempt deadline: rejects at the deadline even when the call ignores its
// signal, follows the caller's abort, and aborts nothing when the call settles first.

const timedOut = () => new Error('timed out');

describe('withDeadline', () => {
  it('settles with the call, leaving its signal unaborted', async () => {
    let seen: AbortSignal | undefined;
    const value = await withDeadline(60_000, undefined, timedOut, async (signal) => {
      seen = signal;
      return 42;
    });
    expect(value).toBe(42);
    expect(seen?.aborted).toBe(false);
    await expect(withDeadline(60_000, undefined, timedOut, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('rejects at the deadline, aborting the signal, even if the call never looks at it', async () => {
    let seen: AbortSignal | undefined;
    const error = await rejectionOf(
      withDeadline(20, undefined, timedOut, (signal) => {
        seen = signal;
        return new Promise<never>(() => undefined);
      }),
    );
    expect(error).toEqual(new Error('timed out'));
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
  });

  it("follows the caller's abort, before or during the call", async () => {
    const outer = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = withDeadline(60_000, outer.signal, timedOut, (signal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    });
    outer.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    expect(seen?.aborted).toBe(true);

    let called = false;
    const already = AbortSignal.abort(new Error('too late'));
    await expect(
      withDeadline(60_000, already, timedOut, async () => {
        called = true;
        return 1;
      }),
    ).rejects.toThrow('too late');
    expect(called).toBe(false);
  });
});
