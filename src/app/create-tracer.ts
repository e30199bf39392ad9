import { createNoopTracer } from '../adapters/telemetry/noop-tracer.js';
import { tracingEnabled } from '../adapters/telemetry/tracing-env.js';
import type { Tracer } from '../ports/tracer.js';

/** Colony's default service.name; OTEL_SERVICE_NAME replaces it. */
export const DEFAULT_SERVICE_NAME = 'colony';

/**
 * The tracer the OTEL_* variables ask for. Off (the default), the OpenTelemetry SDK is not even
 * imported: the no-op tracer costs nothing.
 */
export async function createTracer(env: NodeJS.ProcessEnv): Promise<Tracer> {
  if (!tracingEnabled(env)) return createNoopTracer();
  const { createOtelTracer } = await import('../adapters/telemetry/otel-tracer.js');
  return createOtelTracer({ env, serviceName: DEFAULT_SERVICE_NAME });
}
