/**
 * The saga's business metrics, counted by its activities (never in workflow code: a replay would count twice)
 * and served on the worker's /metrics (workers/metrics-server.ts):
 *   shopflow_order_outcomes_total{outcome,reason}  orders placed, or canceled with their reason
 *   shopflow_saga_duration_seconds{outcome}         from the order's creation to placed or canceled
 *   shopflow_payment_failures_total{reason}         charges declined or refused by the gateway
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export class SagaMetrics {
  readonly outcomes: Counter<'outcome' | 'reason'>;
  readonly duration: Histogram<'outcome'>;
  readonly paymentFailures: Counter<'reason'>;

  constructor(registry: Registry) {
    this.outcomes = new Counter({
      name: 'shopflow_order_outcomes_total',
      help: 'Orders that reached placed or canceled (reason: payment_timeout, payment_failed, customer, ...)',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'shopflow_saga_duration_seconds',
      help: "From the order's creation to placed or canceled",
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers: [registry],
    });
    this.paymentFailures = new Counter({
      name: 'shopflow_payment_failures_total',
      help: 'Charges declined (decline code) or refused by the gateway',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  /** An order left `created` for good (placed or canceled) at this moment. */
  settled(outcome: 'placed' | 'canceled', reason: string, createdAt: Date | string | undefined): void {
    this.outcomes.inc({ outcome, reason });
    const since = createdAt === undefined ? NaN : Date.now() - new Date(createdAt).getTime();
    if (Number.isFinite(since) && since >= 0) this.duration.observe({ outcome }, since / 1000);
  }
}
