/** Prometheus metrics (prom-client): request latency by route, orders by outcome, plus Node's defaults. */
import { timingSafeEqual } from 'node:crypto';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestHandler } from 'express';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly orders = new Counter({
    name: 'shopflow_orders_total',
    help: 'POST /orders by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  /** Buyers refused for stock (409 out_of_stock): the flash sale's losers, or a catalog that runs dry. */
  readonly stockRefusals = new Counter({
    name: 'shopflow_stock_refusals_total',
    help: '409 out_of_stock answers, by route (orders, checkout)',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.httpDuration.startTimer();
      res.on('finish', () => {
        // The route pattern (not the raw path) keeps the label set small.
        const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
        end({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    };
  }
}

/** GET /metrics with Prometheus's scrape credential (METRICS_TOKEN, compared in constant time) answers here,
 * before the bearer-token authentication (it is no JWT); anything else goes on to the admin-only route. */
export function scrapeWithToken(metrics: ApiMetrics, token: string | undefined): RequestHandler {
  const want = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return (req, res, next) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (!want || given.length !== want.length || !timingSafeEqual(given, want)) return next();
    metrics.registry.metrics().then((text) => void res.type(metrics.registry.contentType).send(text), next);
  };
}
