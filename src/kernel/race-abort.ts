/**
 * Waits for `promise`, or rejects as soon as `signal` aborts, with `reasonOf(signal)` (the signal's
 * reason by default). The promise goes on either way; its own failure after an abort is ignored, never
 * left unhandled.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, reasonOf: (signal: AbortSignal) => unknown = (s) => s.reason): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(reasonOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
