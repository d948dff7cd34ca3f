/**
 * The outbox relay's metrics (the worker's /metrics):
 *   shopflow_outbox_backlog                 rows not published yet (read from MySQL at each scrape)
 *   shopflow_outbox_oldest_unpublished_seconds  age of the oldest of them (0 when none): the relay's lag now
 *   shopflow_outbox_relay_lag_seconds       per published event, from its write to Kafka's acknowledgement
 *   shopflow_outbox_published_total{topic}  events published
 */
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class OutboxMetrics {
  readonly lag: Histogram;
  readonly published: Counter<'topic'>;

  constructor(registry: Registry, mysql: Knex) {
    this.lag = new Histogram({
      name: 'shopflow_outbox_relay_lag_seconds',
      help: "From an event's outbox write to its publication on Kafka",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.published = new Counter({
      name: 'shopflow_outbox_published_total',
      help: 'Outbox events published to Kafka',
      labelNames: ['topic'],
      registers: [registry],
    });
    // One indexed read per scrape (published_at, id), answered from the index; a MySQL outage leaves the last values.
    let backlog = { count: 0, oldest: 0 };
    const read = async () => {
      const row = (await mysql('outbox')
        .whereNull('published_at')
        .select(mysql.raw('COUNT(*) AS n, MIN(created_at) AS oldest'))
        .first()) as { n: number; oldest: Date | null } | undefined;
      const oldest = row?.oldest;
      backlog = {
        count: Number(row?.n ?? 0),
        oldest: oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0,
      };
    };
    // Both gauges are collected together (prom-client collects concurrently): one read serves the two.
    let pending: Promise<void> | undefined;
    const refresh = () =>
      (pending ??= read()
        .catch(() => undefined)
        .finally(() => (pending = undefined)));
    new Gauge({
      name: 'shopflow_outbox_backlog',
      help: 'Outbox rows not yet published',
      registers: [registry],
      async collect() {
        await refresh();
        this.set(backlog.count);
      },
    });
    new Gauge({
      name: 'shopflow_outbox_oldest_unpublished_seconds',
      help: 'Age of the oldest unpublished outbox row (0: none)',
      registers: [registry],
      async collect() {
        await refresh();
        this.set(backlog.oldest);
      },
    });
  }
}
