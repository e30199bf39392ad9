import { TaskCancelledError, type BulkheadPolicy } from 'cockatiel';

/**
 * Holds one of a cockatiel bulkhead's slots for as long as the caller likes, not just for one
 * function call: a stream keeps its slot until the consumer stops reading, which an
 * `execute(fn)` around "open the stream" could not express.
 *
 * Resolves with `release` (idempotent) once a slot is free. Rejects with cockatiel's
 * BulkheadRejectedError when the queue is full, and with TaskCancelledError as soon as `signal`
 * aborts while waiting (cockatiel's queue only notices an abort when the entry reaches the front;
 * a slot handed to an abandoned waiter is given straight back).
 */
export function acquireLease(bulkhead: BulkheadPolicy, signal?: AbortSignal): Promise<() => void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      reject(new TaskCancelledError('cancelled while waiting for a provider slot'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    bulkhead
      .execute(
        () =>
          new Promise<void>((release) => {
            signal?.removeEventListener('abort', onAbort);
            if (settled) {
              release();
              return;
            }
            settled = true;
            let released = false;
            resolve(() => {
              if (released) return;
              released = true;
              release();
            });
          }),
        signal,
      )
      .catch((error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        reject(error);
      });
  });
}
