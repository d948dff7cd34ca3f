/**
 * OpenTelemetry tracing for every process (issue 15): one order's path (the API request, its saga, the saga's
 * activities, the outbox relay, the Kafka consumers) is one trace, exported over OTLP/HTTP to Jaeger.
 *
 * Safe when the collector is down: spans wait in a bounded queue and are exported in the background with a
 * short timeout; what cannot be sent is dropped, never retried on a request's path. Without `initTracing`
 * (tests, OTEL_SDK_DISABLED=true) the OpenTelemetry API is a no-op and so is everything here.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Config } from '../lib/config';

export const tracer = () => trace.getTracer('shopflow');

export interface Tracing {
  /** Exports what is queued (bounded by the export timeout). */
  shutdown(): Promise<void>;
}

export function initTracing(
  cfg: Pick<
    Config,
    'OTEL_SDK_DISABLED' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME' | 'OTEL_TRACES_SAMPLER_ARG'
  >,
  component: string,
): Tracing {
  if (cfg.OTEL_SDK_DISABLED) return { shutdown: async () => undefined };
  const resource = new Resource({ [ATTR_SERVICE_NAME]: `${cfg.OTEL_SERVICE_NAME}-${component}` });
  const exporter = new OTLPTraceExporter({
    url: `${cfg.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces`,
    timeoutMillis: 2000,
  });
  // Bounded queue, batches every half second: a down collector costs a failed POST per batch, off the request path.
  const spanProcessor = new BatchSpanProcessor(exporter, {
    maxQueueSize: 4096,
    maxExportBatchSize: 512,
    scheduledDelayMillis: 500,
    exportTimeoutMillis: 3000,
  });
  const provider = new NodeTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.OTEL_TRACES_SAMPLER_ARG) }),
  });
  provider.addSpanProcessor(spanProcessor);
  provider.register(); // the global tracer, AsyncLocalStorage context, W3C trace-context propagation
  return { shutdown: () => provider.shutdown().catch(() => undefined) };
}

/** The active trace context as a `traceparent` header value (stored with an outbox row); null without one. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a `traceparent` (and `tracestate`) names, for a span that continues it. */
export function contextFrom(headers: Record<string, unknown> | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  const carrier: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate']) {
    const v = headers[name];
    const text = Array.isArray(v) ? v[0] : v;
    if (text !== undefined && text !== null) carrier[name] = text.toString();
  }
  return carrier.traceparent ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/** Headers carrying a span's context (to Kafka). */
export function headersOf(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier;
}

/** Ends a span with the outcome of the work it covered. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : new Error(String(err)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

export { SpanKind };
