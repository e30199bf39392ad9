/**
 * Traces: spans for API requests, task attempts, agent turns, model calls and tool calls. The engine
 * sees only this port; the composition root picks the OpenTelemetry adapter when the standard OTEL_*
 * variables ask for traces, and the no-op tracer otherwise (which loads no tracing code at all).
 *
 * Spans cross processes as W3C `traceparent` strings: a task record keeps the one of the span that
 * created it, and the attempt that runs it anywhere starts as its child.
 */

export type SpanAttributeValue = string | number | boolean | readonly string[];
/** Undefined values are skipped, so callers can pass optional fields as they are. */
export type SpanAttributes = Readonly<Record<string, SpanAttributeValue | undefined>>;

export type SpanKind = 'internal' | 'server' | 'client';

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: SpanAttributes;
  /**
   * The parent as a W3C traceparent (a task record's, an incoming request's header). Absent: the
   * current span; null or an unreadable string: a new trace.
   */
  parent?: string | null;
}

export interface Span {
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed with this error (recorded as an exception event). */
  fail(error: unknown): void;
  end(): void;
}

/** The ids logs carry for the current span. */
export interface TraceIds {
  trace_id: string;
  span_id: string;
}

export interface Tracer {
  /** False for the no-op tracer: callers may skip building attributes. */
  readonly enabled: boolean;
  startSpan(name: string, options?: SpanOptions): Span;
  /** Runs `fn` with `span` as the current span (the parent of spans started inside it, across awaits). */
  withSpan<T>(span: Span, fn: () => T): T;
  /** The current span as a W3C traceparent, or null when there is none. */
  currentTraceParent(): string | null;
  /** The current span's ids, or undefined when there is none. */
  currentIds(): TraceIds | undefined;
  /** Exports what is still buffered and stops. */
  shutdown(): Promise<void>;
}
