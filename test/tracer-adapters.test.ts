import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createNoopTracer } from '../src/adapters/telemetry/noop-tracer.js';
import { createOtelTracer } from '../src/adapters/telemetry/otel-tracer.js';
import { runTracerConformance } from './conformance/tracer.js';

runTracerConformance('no-op', () => createNoopTracer(), false);
runTracerConformance('OpenTelemetry', () => createOtelTracer({ env: {}, serviceName: 'colony-test', exporter: new InMemorySpanExporter() }), true);

describe('the OpenTelemetry adapter', () => {
  it('exports spans with their kind, attributes (undefined ones skipped), status and resource from the given env', async () => {
    // What shutdown flushes is kept here (the in-memory exporter forgets its spans when shut down).
    const finished: ReadableSpan[] = [];
    const exporter: SpanExporter = {
      export: (spans, done) => {
        finished.push(...spans);
        done({ code: 0 });
      },
      shutdown: async () => {},
    };
    const tracer = createOtelTracer({ env: { OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'team=core' }, serviceName: 'colony', exporter });
    const span = tracer.startSpan('chat m', { kind: 'client', attributes: { 'gen_ai.request.model': 'm', missing: undefined } });
    span.fail(new Error('rate limited'));
    span.end();
    await tracer.shutdown();
    const [exported] = finished;
    expect(exported?.name).toBe('chat m');
    expect(exported?.kind).toBe(2); // SpanKind.CLIENT in @opentelemetry/api
    expect(exported?.attributes).toEqual({ 'gen_ai.request.model': 'm' });
    expect(exported?.status).toMatchObject({ code: 2, message: 'rate limited' });
    expect(exported?.events.map((e) => e.name)).toEqual(['exception']);
    expect(exported?.resource.attributes).toMatchObject({ 'service.name': 'from-env', team: 'core' });
  });
});
