import { Consumer, Kafka, logLevel, LogEntry, Partitioners, Producer, RetryOptions } from 'kafkajs';
import { logger } from '../../lib/logger';
import { TOPICS } from './topics';
import { storeFaults } from '../errors';

export function createKafka(brokers: string, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: brokers.split(',').map((b) => b.trim()),
    logLevel: logLevel.WARN,
    logCreator: () => kafkaLog,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

/** kafkajs logs through the platform's structured logger (not the console). */
function kafkaLog({ level, log }: LogEntry): void {
  const { message, ...rest } = log;
  // Known, harmless at start-up: the retry limit (a relay batch must not retry forever while it holds its rows).
  if (message.includes('Limiting retries for the idempotent producer')) return;
  // A broker that is down makes kafkajs log every connection retry: once per interval is enough.
  if (/Connection error|Failed to connect to seed broker|Connection timeout/.test(message)) {
    storeFaults.note({ store: 'kafka', kind: 'unavailable' }, undefined, `kafka: ${message}`, {
      component: 'kafkajs',
      ...rest,
    });
    return;
  }
  const l = logger.child({ component: 'kafkajs' });
  if (level <= logLevel.ERROR) l.error(rest, message);
  else if (level === logLevel.WARN) l.warn(rest, message);
  else l.debug(rest, message);
}

/** An idempotent producer: a retried send never writes a message twice within one producer session. */
export async function createProducer(kafka: Kafka): Promise<Producer> {
  const producer = newProducer(kafka);
  await producer.connect();
  return producer;
}

/** The same producer, not connected yet. */
export function newProducer(kafka: Kafka, retry?: RetryOptions): Producer {
  return kafka.producer({
    ...(retry ? { retry } : {}),
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * Resolves at a consumer's first fetch after it joined its group: from then on its starting offsets are fixed,
 * so a message produced afterwards is seen. Call before `connect()`, await after `run()`.
 */
export function firstFetchAfterJoin(consumer: Consumer): Promise<void> {
  let joined = false;
  return new Promise<void>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    consumer.on(consumer.events.FETCH, () => {
      if (joined) resolve();
    });
  });
}

/** Creates the platform's topics (or the ones given) if they do not exist (harmless to re-run). */
export async function ensureTopics(
  kafka: Kafka,
  topics: { name: string; partitions: number }[] = Object.values(TOPICS),
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: 1 })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}
