import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, SpanKind as OtelSpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span as OtelSpan } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Span, SpanAttributes, SpanKind, SpanOptions, TraceIds, Tracer } from '../../ports/tracer.js';
import { envResourceAttributes, otlpTracesUrl } from './tracing-env.js';

export interface OtelTracerOptions {
  /** The environment the OTEL_* variables are read from (the SDK reads process.env for the rest). */
  env: NodeJS.ProcessEnv;
  serviceName: string;
  serviceVersion?: string;
  /** Default: OTLP over HTTP (JSON) to the configured endpoint. */
  exporter?: SpanExporter;
}

const KINDS: Record<SpanKind, OtelSpanKind> = { internal: OtelSpanKind.INTERNAL, server: OtelSpanKind.SERVER, client: OtelSpanKind.CLIENT };

/** The carrier key of the W3C propagator. */
const TRACEPARENT = 'traceparent';

/**
 * The OpenTelemetry adapter. Nothing global: the tracer provider, the propagator and the current span
 * (an AsyncLocalStorage) belong to this instance, so two colonies in one process trace separately and
 * a program's own OpenTelemetry setup is left alone.
 */
export function createOtelTracer(options: OtelTracerOptions): Tracer {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over Colony's defaults.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName, ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}) }))
    .merge(resourceFromAttributes({ 'process.pid': process.pid, ...envResourceAttributes(options.env) }));
  const url = otlpTracesUrl(options.env);
  const exporter = options.exporter ?? new OTLPTraceExporter(url === undefined ? {} : { url });
  // Sampler (OTEL_TRACES_SAMPLER, _ARG), span limits and batch settings (OTEL_BSP_*) come from the SDK's own env handling.
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('colony', options.serviceVersion);
  const propagator = new W3CTraceContextPropagator();
  const current = new AsyncLocalStorage<Context>();
  const spans = new WeakMap<Span, OtelSpan>();

  const activeContext = (): Context => current.getStore() ?? ROOT_CONTEXT;
  const parentContext = (parent: string | null | undefined): Context => {
    if (parent === undefined) return activeContext();
    if (parent === null) return ROOT_CONTEXT;
    return propagator.extract(ROOT_CONTEXT, { [TRACEPARENT]: parent }, { get: (carrier, key) => carrier[key], keys: (carrier) => Object.keys(carrier) });
  };

  return {
    enabled: true,
    startSpan(name: string, spanOptions: SpanOptions = {}): Span {
      const otel = tracer.startSpan(
        name,
        { kind: KINDS[spanOptions.kind ?? 'internal'], ...(spanOptions.attributes ? { attributes: clean(spanOptions.attributes) } : {}) },
        parentContext(spanOptions.parent),
      );
      const span: Span = {
        setAttributes: (attributes) => void otel.setAttributes(clean(attributes)),
        fail(error) {
          if (error instanceof Error) otel.recordException(error);
          otel.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        },
        end: () => otel.end(),
      };
      spans.set(span, otel);
      return span;
    },
    withSpan<T>(span: Span, fn: () => T): T {
      const otel = spans.get(span);
      return otel === undefined ? fn() : current.run(trace.setSpan(activeContext(), otel), fn);
    },
    currentTraceParent(): string | null {
      const carrier: Record<string, string> = {};
      propagator.inject(activeContext(), carrier, { set: (target, key, value) => void (target[key] = value) });
      return carrier[TRACEPARENT] ?? null;
    },
    currentIds(): TraceIds | undefined {
      const context = trace.getSpan(activeContext())?.spanContext();
      return context === undefined ? undefined : { trace_id: context.traceId, span_id: context.spanId };
    },
    shutdown: () => provider.shutdown(),
  };
}

function clean(attributes: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value as Attributes[string];
  return out;
}
