/**
 * Runs `call` with a signal that aborts at the deadline, or when `outer` aborts, and settles then even
 * if the call ignores its signal. A call that settles first aborts nothing: an abort builds a
 * DOMException and runs every listener, which cockatiel's TimeoutPolicy paid on every call and every
 * stream event (a tenth of the CPU of a thousand agent runs on an in-process model).
 */
export function withDeadline<T>(ms: number, outer: AbortSignal | undefined, timedOut: () => Error, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
      return true;
    };
    const onOuter = (): void => {
      if (!settle()) return;
      controller.abort(outer?.reason);
      reject(outer?.reason);
    };
    const timer = setTimeout(() => {
      if (!settle()) return;
      const error = timedOut();
      controller.abort(error);
      reject(error);
    }, ms);
    if (outer?.aborted === true) {
      onOuter();
      return;
    }
    outer?.addEventListener('abort', onOuter, { once: true });
    call(controller.signal).then(
      (value) => {
        if (settle()) resolve(value);
      },
      (error: unknown) => {
        if (settle()) reject(error);
      },
    );
  });
}
