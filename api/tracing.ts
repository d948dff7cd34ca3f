/** One server span per request (continuing a caller's `traceparent`), active while the request is handled:
 * the saga it starts and the outbox rows it writes carry its trace (telemetry/tracing.ts). */
import { context, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { contextFrom, endSpan, SpanKind, tracer } from '../telemetry/tracing';

export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    if (req.url === '/healthz' || req.url === '/metrics') return next();
    const span = tracer().startSpan(
      `${req.method} request`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
      contextFrom(req.headers),
    );
    res.on('finish', () => {
      // The route pattern, as in the metrics (known only once routed).
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
      endSpan(span, res.statusCode >= 500 ? new Error(`HTTP ${res.statusCode}`) : undefined);
    });
    context.with(trace.setSpan(context.active(), span), next);
  };
}
