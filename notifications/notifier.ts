/**
 * The Notification service in one object: the Kafka consumer that stores notifications and the sender loop
 * that delivers them, wired from the configuration. Used by workers/notifier.ts and by the tests.
 */
import type { Kafka } from 'kafkajs';
import type { Knex } from 'knex';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { createChannel, NotificationChannel } from './channels';
import { NotificationConsumer, NotificationConsumerOptions } from './consumer';
import { NotificationRepository } from './repository';
import { NotificationSender } from './sender';

export interface Notifier {
  repo: NotificationRepository;
  consumer: NotificationConsumer;
  sender: NotificationSender;
  channel: NotificationChannel;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createNotifier(
  cfg: Config,
  mysql: Knex,
  kafka: Kafka,
  log: Logger,
  overrides: { channel?: NotificationChannel; consumer?: Partial<NotificationConsumerOptions> } = {},
): Notifier {
  const repo = new NotificationRepository(mysql);
  const channel = overrides.channel ?? createChannel(cfg);
  const sender = new NotificationSender(repo, channel, log, {
    pollMs: cfg.NOTIFY_POLL_INTERVAL,
    batch: cfg.NOTIFY_SEND_BATCH,
    leaseMs: Math.max(30_000, cfg.NOTIFY_SEND_TIMEOUT * 4),
    maxAttempts: cfg.NOTIFY_MAX_ATTEMPTS,
    retryBaseMs: cfg.NOTIFY_RETRY_BASE,
  });
  const consumer = new NotificationConsumer(kafka, mysql, repo, log, {
    groupId: cfg.NOTIFICATIONS_GROUP,
    fromBeginning: false,
    onStored: () => sender.wake(),
    ...overrides.consumer,
  });
  return {
    repo,
    consumer,
    sender,
    channel,
    async start() {
      sender.start(); // first: notifications stored before a crash go out even while Kafka is unreachable
      await consumer.start();
    },
    async stop() {
      await consumer.stop(); // no new notifications, then let the sends in flight finish and be recorded
      await sender.stop();
      await channel.close?.();
    },
  };
}
