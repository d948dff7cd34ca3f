/**
 * The notifier process (the Notification service): a Kafka consumer (group NOTIFICATIONS_GROUP) on
 * shopflow.orders that stores one notification per order change in MySQL, and a sender loop that delivers
 * pending notifications through NOTIFY_CHANNEL (email over SMTP, webhook, or none). Stops cleanly on
 * SIGTERM/SIGINT: the consumer leaves its group after the chunk in hand is stored and committed, the sends in
 * flight finish.
 */
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from '../stores/mysql/client';
import { createKafka, ensureTopics } from '../stores/kafka/client';
import { createNotifier } from '../notifications/notifier';
import { ConsumerMetrics } from '../stores/kafka/consumer';
import { MetricsServer } from '../telemetry/metrics-server';
import { initTracing } from '../telemetry/tracing';

async function main(): Promise<void> {
  const cfg = config();
  const tracing = initTracing(cfg, 'notifier');
  const log = logger.child({ component: 'notifier' });
  const metrics = new MetricsServer();
  await metrics.listen(cfg.NOTIFIER_METRICS_PORT);
  const mysql = createMysql(cfg.MYSQL_URL, 10);
  const kafka = createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-notifier`);
  await ensureTopics(kafka);
  const notifier = createNotifier(cfg, mysql, kafka, log, {
    consumer: { metrics: new ConsumerMetrics(metrics.registry) },
  });
  await notifier.start();
  log.info({ channel: notifier.channel.name, groupId: cfg.NOTIFICATIONS_GROUP }, 'notifier running');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'notifier stopping');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    try {
      await notifier.stop();
    } finally {
      await Promise.allSettled([mysql.destroy(), metrics.close(), tracing.shutdown()]);
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  logger.fatal({ err }, 'notifier failed');
  process.exit(1);
});
