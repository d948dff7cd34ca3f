/**
 * The worker process: the order saga's Temporal worker (with the reconciler's activity, which its Temporal
 * Schedule runs), the saga and archive sweepers' activities (their Schedules run them too), the outbox relay
 * that publishes its events to Kafka, and Prometheus endpoints (the app's on WORKER_METRICS_PORT, the Temporal
 * SDK's on TEMPORAL_METRICS_PORT). Traces (telemetry/tracing.ts): the activities and outbox publications continue
 * the API's trace (the workflows carry its header to their activities: workflows/interceptors.ts).
 * Stops cleanly on SIGTERM/SIGINT (running activities finish, the relay commits its batch).
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { SagaSweeper } from '../orders/saga-sweeper';
import { ArchiveSweeper } from '../orders/archive-sweeper';
import { OrderArchive } from '../orders/archive';
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from '../stores/mysql/client';
import { createFailFastRedis } from '../stores/redis/client';
import { createCassandra } from '../stores/cassandra/client';
import { createKafka, createProducer, ensureTopics } from '../stores/kafka/client';
import { KafkaTopicDirectory } from '../stores/kafka/topic-directory';
import { HttpPaymentGateway } from '../payments/gateway';
import { OutboxRelay } from '../outbox/relay';
import { createOrderWorker, createPaymentsWorker } from './order-worker';
import { Reconciler, reconcilerSettingsFrom } from '../orders/reconciler';
import { ensureSchedules } from '../orders/schedules';
import { WorkerMetrics } from './metrics-server';
import { requireSearchAttributes } from './search-attributes-check';
import { initTracing } from '../telemetry/tracing';

async function main(): Promise<void> {
  const cfg = config();
  const tracing = initTracing(cfg, 'worker');
  // The SDK's worker metrics (task latencies, slots, sticky cache, ...) in the Prometheus format.
  Runtime.install({
    ...(cfg.TEMPORAL_METRICS_PORT > 0
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: { bindAddress: `127.0.0.1:${cfg.TEMPORAL_METRICS_PORT}`, useSecondsForDurations: true },
            },
          },
        }
      : {}),
  });
  const mysql = createMysql(cfg.MYSQL_URL, cfg.MYSQL_POOL_MAX);
  // Redis is the orders' mirror and the sold-out gate here, both best effort: fail fast (see createFailFastRedis).
  const redis = createFailFastRedis(cfg.REDIS_URL, cfg.REDIS_COMMAND_TIMEOUT);
  const cassandra = createCassandra(cfg, cfg.CASSANDRA_KEYSPACE);
  const kafka = createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-worker`);
  await ensureTopics(kafka);
  const producer = await createProducer(kafka);
  const metrics = new WorkerMetrics(mysql);
  const topics = new KafkaTopicDirectory(kafka);
  const relay = new OutboxRelay(mysql, producer, logger, {
    intervalMs: cfg.OUTBOX_POLL_INTERVAL,
    retentionMs: cfg.OUTBOX_RETENTION,
    metrics: metrics.outbox,
    topics,
  });
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const client = new Client({
    connection: await Connection.connect({ address: cfg.TEMPORAL_ADDRESS }),
    namespace: cfg.TEMPORAL_NAMESPACE,
  });
  await requireSearchAttributes(client, cfg.TEMPORAL_NAMESPACE);
  const gateway = new HttpPaymentGateway(cfg.PAYMENT_GATEWAY_URL);
  const archive = new OrderArchive(cassandra, mysql);
  const reconciler = new Reconciler(mysql, redis, client, gateway, archive, reconcilerSettingsFrom(cfg), logger);
  // The sweepers run as Temporal Schedules (one of each whatever the number of workers), not on timers here.
  const sweepers = {
    sagas: new SagaSweeper(mysql, redis, client, cfg, logger),
    archive: new ArchiveSweeper(mysql, archive, cfg.ORDER_ARCHIVE_SWEEP_AFTER, logger, cfg.IDEMPOTENCY_KEY_TTL),
  };
  const workerDeps = {
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    mysql,
    redis,
    cassandra,
    gateway,
    currency: cfg.PAYMENT_CURRENCY,
    reconciler,
    sweepers,
    repairs: metrics.repairs,
    metrics: metrics.saga,
    activitySlots: cfg.MYSQL_POOL_MAX,
    paymentSlots: cfg.PAYMENT_ACTIVITY_SLOTS,
  };
  const shutdown = { shutdownGraceTime: '15s', shutdownForceTime: '30s' } as const;
  // Two workers, one process: the saga and its store activities; the payment activities on their own queue.
  const worker = await createOrderWorker(workerDeps, shutdown);
  const paymentsWorker = await createPaymentsWorker(workerDeps, shutdown);
  const schedules = await ensureSchedules(client, cfg.TEMPORAL_TASK_QUEUE, {
    reconcileMs: cfg.RECONCILE_INTERVAL,
    sagaSweepMs: cfg.SAGA_SWEEP_INTERVAL,
    archiveSweepMs: cfg.ARCHIVE_SWEEP_INTERVAL,
  });
  await metrics.listen(cfg.WORKER_METRICS_PORT);
  relay.start();
  logger.info(
    { taskQueue: cfg.TEMPORAL_TASK_QUEUE, temporal: cfg.TEMPORAL_ADDRESS, schedules },
    'order worker running',
  );
  await Promise.all([worker.run(), paymentsWorker.run()]); // resolve after SIGTERM/SIGINT (the SDK installs the handlers) once shut down
  await relay.stop();
  await metrics.close();
  await tracing.shutdown();
  await Promise.allSettled([
    producer.disconnect(),
    topics.close(),
    mysql.destroy(),
    redis.quit(),
    cassandra.shutdown(),
    connection.close(),
    client.connection.close(),
  ]);
  logger.info('order worker stopped');
}

main().catch((err) => {
  logger.fatal({ err }, 'order worker failed');
  process.exit(1);
});
