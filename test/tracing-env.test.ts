import { describe, expect, it } from 'vitest';
import { envResourceAttributes, otlpTracesUrl, tracingEnabled } from '../src/adapters/telemetry/tracing-env.js';

describe('the OTEL_* variables that turn traces on', () => {
  it('an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp turns them on; none of them, `none` or OTEL_SDK_DISABLED=true leaves them off', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingEnabled({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingEnabled({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingEnabled({ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
    expect(tracingEnabled({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false);
  });

  it('the traces URL: the traces endpoint as given, else the base endpoint plus /v1/traces, else the SDK default', () => {
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom' })).toBe('http://b:9999/custom');
    expect(otlpTracesUrl({ OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined();
  });

  it('resource attributes from OTEL_RESOURCE_ATTRIBUTES (percent-decoded), OTEL_SERVICE_NAME winning for service.name', () => {
    expect(envResourceAttributes({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=a%2Cb,bad,=x,service.name=from-attrs' })).toEqual({
      'deployment.environment': 'prod',
      team: 'a,b',
      'service.name': 'from-attrs',
    });
    expect(envResourceAttributes({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs', OTEL_SERVICE_NAME: 'colony-eu' })).toEqual({ 'service.name': 'colony-eu' });
  });
});
