import type { SpanOptions, Tracer } from '../ports/tracer.js';

/** Runs `fn` inside a new span that is current while it runs, failed if it throws, and always ended. */
export async function inSpan<T>(tracer: Tracer, name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> {
  if (!tracer.enabled) return fn();
  const span = tracer.startSpan(name, options);
  try {
    return await tracer.withSpan(span, fn);
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}
