/**
 * The worker process's Prometheus endpoint: GET /metrics on WORKER_METRICS_PORT (loopback), with the saga's
 * outcomes, latency and payment failures (activities/metrics.ts), the outbox relay's lag and backlog
 * (outbox/metrics.ts), the reconciler's repairs and Node's defaults. The Temporal SDK's own worker metrics are
 * served by the SDK on TEMPORAL_METRICS_PORT (workers/main.ts).
 */
import type { Knex } from 'knex';
import { Counter } from 'prom-client';
import { SagaMetrics } from '../activities/metrics';
import { OutboxMetrics } from '../outbox/metrics';
import { MetricsServer } from '../telemetry/metrics-server';

export class WorkerMetrics extends MetricsServer {
  readonly repairs = new Counter({
    name: 'shopflow_reconciler_repairs_total',
    help: 'Drift the reconciler repaired (refunded, voided, order_canceled, saga_resumed, mirror_written) or left for a person (attention)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly saga = new SagaMetrics(this.registry);
  readonly outbox: OutboxMetrics | undefined;

  /** With MySQL, the outbox's backlog is read at each scrape. */
  constructor(mysql?: Knex) {
    super();
    this.outbox = mysql ? new OutboxMetrics(this.registry, mysql) : undefined;
  }
}
