/**
 * The analytics process: a Kafka consumer (group ANALYTICS_GROUP; start more to share the partitions) on
 * shopflow.analytics and shopflow.orders that keeps the real-time reports and the recommendation model in
 * Redis and appends every event to Cassandra (analytics/consumer.ts). Stops cleanly on SIGTERM/SIGINT.
 */
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from '../stores/mysql/client';
import { createRedis } from '../stores/redis/client';
import { createCassandra } from '../stores/cassandra/client';
import { createKafka, createProducer, ensureTopics } from '../stores/kafka/client';
import { AnalyticsConsumer } from '../analytics/consumer';
import { AnalyticsPipeline } from '../read-models/pipeline';
import { pipelineSettings } from '../read-models/settings';
import { ConsumerMetrics } from '../stores/kafka/consumer';
import { MetricsServer } from '../telemetry/metrics-server';
import { initTracing } from '../telemetry/tracing';

async function main(): Promise<void> {
  const cfg = config();
  const tracing = initTracing(cfg, 'analytics');
  const log = logger.child({ component: 'analytics' });
  const metrics = new MetricsServer();
  await metrics.listen(cfg.ANALYTICS_METRICS_PORT);
  const mysql = createMysql(cfg.MYSQL_URL, 5);
  const redis = createRedis(cfg.REDIS_URL);
  const cassandra = cfg.ANALYTICS_RAW_LOG ? createCassandra(cfg, cfg.CASSANDRA_KEYSPACE) : undefined;
  const kafka = createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-analytics`);
  await ensureTopics(kafka);
  const producer = await createProducer(kafka);

  const pipeline = new AnalyticsPipeline(redis, cassandra, pipelineSettings(cfg));
  const consumer = new AnalyticsConsumer(kafka, producer, mysql, pipeline, log, {
    groupId: cfg.ANALYTICS_GROUP,
    fromBeginning: true,
    metrics: new ConsumerMetrics(metrics.registry),
  });
  await consumer.start();
  const report = setInterval(() => {
    if (consumer.events > 0)
      log.info(
        {
          events: consumer.events,
          applied: pipeline.applied,
          duplicates: pipeline.duplicates,
          translated: consumer.translated,
          skipped: consumer.skipped,
          lagMs: consumer.lastLagMs,
        },
        'analytics progress',
      );
  }, 60_000);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'analytics stopping');
    clearInterval(report);
    await consumer.stop();
    await Promise.allSettled([
      producer.disconnect(),
      mysql.destroy(),
      redis.quit(),
      cassandra?.shutdown(),
      metrics.close(),
      tracing.shutdown(),
    ]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  logger.fatal({ err }, 'analytics worker failed');
  process.exit(1);
});
