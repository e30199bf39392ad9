import { describe, expect, it } from 'vitest';
import type { Tracer } from '../../src/ports/tracer.js';

const W3C_TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/**
 * The Tracer port's conformance suite: every adapter runs it. `create` returns a tracer; `enabled`
 * says whether it records (a recording one must propagate what it is given; a no-op one answers null).
 */
export function runTracerConformance(name: string, create: () => Tracer, enabled: boolean): void {
  describe(`Tracer conformance: ${name}`, () => {
    it('says whether it records', () => {
      expect(create().enabled).toBe(enabled);
    });

    it('outside any span there is no current span', () => {
      const tracer = create();
      expect(tracer.currentTraceParent()).toBeNull();
      expect(tracer.currentIds()).toBeUndefined();
    });

    it('withSpan returns what its function returns, sync or async, and lets its errors through', async () => {
      const tracer = create();
      const span = tracer.startSpan('s', { attributes: { a: 1, b: 'x', c: true, d: ['p', 'q'], skipped: undefined } });
      expect(tracer.withSpan(span, () => 42)).toBe(42);
      expect(await tracer.withSpan(span, async () => 'later')).toBe('later');
      expect(() => tracer.withSpan(span, () => { throw new Error('boom'); })).toThrow('boom');
      span.setAttributes({ e: 2 });
      span.fail(new Error('failed'));
      span.fail('not even an Error');
      span.end();
    });

    it('the current span is the one withSpan runs with, across awaits, and is gone after it', async () => {
      const tracer = create();
      const span = tracer.startSpan('outer', { parent: PARENT });
      const inside = await tracer.withSpan(span, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return { traceParent: tracer.currentTraceParent(), ids: tracer.currentIds() };
      });
      span.end();
      expect(tracer.currentTraceParent()).toBeNull();
      if (!enabled) {
        expect(inside).toEqual({ traceParent: null, ids: undefined });
        return;
      }
      // The span continues the parent's trace, under a span id of its own.
      const [, traceId, spanId] = W3C_TRACEPARENT.exec(inside.traceParent ?? '') ?? [];
      expect(traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(spanId).not.toBe('00f067aa0ba902b7');
      expect(inside.ids).toEqual({ trace_id: traceId, span_id: spanId });
    });

    it('a span started inside another is its child; parent null starts a new trace; an unreadable parent does too', () => {
      const tracer = create();
      const outer = tracer.startSpan('outer', { parent: PARENT });
      const [child, root, unreadable] = tracer.withSpan(outer, () => {
        const spans = [tracer.startSpan('child'), tracer.startSpan('root', { parent: null }), tracer.startSpan('bad', { parent: 'not a traceparent' })];
        return spans.map((span) => tracer.withSpan(span, () => tracer.currentIds()));
      }) as [ReturnType<Tracer['currentIds']>, ReturnType<Tracer['currentIds']>, ReturnType<Tracer['currentIds']>];
      outer.end();
      if (!enabled) {
        expect([child, root, unreadable]).toEqual([undefined, undefined, undefined]);
        return;
      }
      expect(child?.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(root?.trace_id).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(unreadable?.trace_id).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(root?.trace_id).not.toBe(unreadable?.trace_id);
    });

    it('two tracers keep their current spans apart', () => {
      const a = create();
      const b = create();
      const span = a.startSpan('a', { parent: PARENT });
      expect(a.withSpan(span, () => b.currentTraceParent())).toBeNull();
      span.end();
    });

    it('shuts down', async () => {
      await create().shutdown();
    });
  });
}
