/**
 * When traces are on, by the standard OpenTelemetry variables: an OTLP exporter is asked for
 * (OTEL_TRACES_EXPORTER=otlp) or an OTLP endpoint is set, and the SDK is not disabled. This file
 * imports nothing, so that deciding costs nothing.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase());
  if (exporters.includes('none')) return false;
  if (exporters.includes('otlp')) return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/** The OTLP/HTTP traces URL the variables name: the traces endpoint as given, or the base endpoint plus `/v1/traces`. */
export function otlpTracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/**
 * The resource attributes the variables set: OTEL_RESOURCE_ATTRIBUTES (`key=value,...`, values
 * percent-encoded), then OTEL_SERVICE_NAME, which wins for `service.name`. Read from the colony's
 * `env` (the SDK's own detector would read only process.env).
 */
export function envResourceAttributes(env: NodeJS.ProcessEnv): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    try {
      attributes[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // A malformed value is skipped, as the SDK's detector does.
    }
  }
  const service = env.OTEL_SERVICE_NAME?.trim();
  if (service) attributes['service.name'] = service;
  return attributes;
}
