import { createHash } from 'node:crypto';
import { context, trace, TraceFlags, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { dutyId, type Duty, type Hex } from '#lib/contracts';

/**
 * One duty = one trace across every node of the cluster (as Charon does): the trace id is
 * derived from the cluster hash and the duty, so each node's spans for slot 1234's
 * attestations land in the same trace without any coordination.
 */
export function dutyTraceId(clusterHash: Hex, duty: Duty): string {
  return createHash('sha256').update(`${clusterHash}/${dutyId(duty)}`).digest('hex').slice(0, 32);
}

/** W3C traceparent carried in each event's envelope, so the audit log links to the trace. */
export function dutyTraceparent(clusterHash: Hex, duty: Duty, stage: string): string {
  const spanId = createHash('sha256').update(`${clusterHash}/${dutyId(duty)}/${stage}`).digest('hex').slice(0, 16);
  return `00-${dutyTraceId(clusterHash, duty)}-${spanId}-01`;
}

export interface Tracing {
  readonly tracer: Tracer;
  /** Runs `work` in a span of the duty's trace; the span ends when it settles, errors recorded. */
  inDutySpan<T>(name: string, clusterHash: Hex, duty: Duty, work: (span: Span) => Promise<T>): Promise<T>;
  shutdown(): Promise<void>;
}

/**
 * Off by default (no endpoint: the API's no-op tracer, no cost). With an OTLP/HTTP endpoint,
 * spans are batched to it; the provider is per service, not global, so nodes sharing a
 * process do not mix.
 */
export function createTracing(opts: { serviceName: string; node: string; otlpEndpoint?: string }): Tracing {
  const provider = opts.otlpEndpoint
    ? new NodeTracerProvider({
        resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.instance.id': opts.node }),
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.otlpEndpoint }))],
      })
    : undefined;
  const tracer = provider ? provider.getTracer('cohort') : trace.getTracer('cohort');
  return {
    tracer,
    async inDutySpan(name, clusterHash, duty, work) {
      const parent = trace.setSpanContext(context.active(), {
        traceId: dutyTraceId(clusterHash, duty),
        spanId: createHash('sha256').update(`${clusterHash}/${dutyId(duty)}`).digest('hex').slice(0, 16),
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      });
      const span = tracer.startSpan(name, { attributes: { 'duty.slot': duty.slot, 'duty.type': duty.type, node: opts.node } }, parent);
      try {
        return await context.with(trace.setSpan(parent, span), () => work(span));
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        throw error;
      } finally {
        span.end();
      }
    },
    shutdown: async () => {
      await provider?.shutdown();
    },
  };
}
