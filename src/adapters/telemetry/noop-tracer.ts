import type { Span, Tracer } from '../../ports/tracer.js';

const NOOP_SPAN: Span = {
  setAttributes() {},
  fail() {},
  end() {},
};

/** Tracing off: one shared inert span, no context kept, nothing loaded. */
export function createNoopTracer(): Tracer {
  return {
    enabled: false,
    startSpan: () => NOOP_SPAN,
    withSpan: (_span, fn) => fn(),
    currentTraceParent: () => null,
    currentIds: () => undefined,
    shutdown: async () => {},
  };
}
