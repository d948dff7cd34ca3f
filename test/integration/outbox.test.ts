/**
 * The outbox relay's housekeeping on the real MySQL: published rows older than the retention are deleted,
 * unpublished rows never are (whatever their age), recent ones stay; and a row no relay can send (its topic does
 * not exist) does not hold up the others.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { OutboxRelay } from '../../outbox/relay';
import { logger } from '../../lib/logger';
import type { Producer } from 'kafkajs';
import { createKafka, createProducer, ensureTopics } from '../../stores/kafka/client';
import { KafkaTopicDirectory } from '../../stores/kafka/topic-directory';
import { eventually } from '../support/http';
import { TEST_TOPIC } from '../support/fixtures';

const cfg = loadConfig(process.env);
const mysql = createMysql(cfg.MYSQL_URL, 2);
beforeAll(() => ensureTopics(createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-outbox-test`), [TEST_TOPIC]));
afterAll(() => mysql.destroy());

const DAY = 24 * 60 * 60_000;
async function row(publishedAgoMs: number | null, createdAgoMs: number): Promise<string> {
  const eventId = randomUUID();
  await mysql('outbox').insert({
    event_id: eventId,
    topic: TEST_TOPIC.name, // a real topic: a relay running meanwhile may publish the unpublished row
    msg_key: 'k',
    payload: '{}',
    created_at: new Date(Date.now() - createdAgoMs),
    published_at: publishedAgoMs === null ? null : new Date(Date.now() - publishedAgoMs),
  });
  return eventId;
}
const exists = async (eventId: string) => (await mysql('outbox').where({ event_id: eventId }).first()) !== undefined;

test('pruning deletes only rows published before the retention', async () => {
  const old = await row(2 * DAY, 2 * DAY);
  const recent = await row(60_000, 60_000);
  const unpublished = await row(null, 30 * DAY); // Kafka was down a month: the event must still go out
  const relay = new OutboxRelay(mysql, {} as Producer, logger, { retentionMs: DAY });
  const deleted = await relay.prunePublished(DAY, 2); // small batches: the loop must go on until none is left
  expect(deleted).toBeGreaterThanOrEqual(1);
  expect(await exists(old)).toBe(false);
  expect(await exists(recent)).toBe(true);
  expect(await exists(unpublished)).toBe(true);
  await mysql('outbox').whereIn('event_id', [recent, unpublished]).delete();
});

test('a row for a topic that does not exist is held back and does not stop the events behind it', async () => {
  const kafka = createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-outbox-test`);
  const producer = await createProducer(kafka);
  const topics = new KafkaTopicDirectory(kafka);
  const missing = `shopflow.missing-${randomUUID().slice(0, 8)}`;
  const orphan = randomUUID();
  await mysql('outbox').insert({ event_id: orphan, topic: missing, msg_key: 'k', payload: '{}' });
  const behind = await row(null, 0); // written after the orphan: a relay sending in id order meets the orphan first
  const relay = new OutboxRelay(mysql, producer, logger, { topics });
  const publishedAt = async (eventId: string) =>
    (await mysql('outbox').where({ event_id: eventId }).first())?.published_at ?? null;
  try {
    await eventually(async () => (await relay.publishBatch()) >= 0 && (await publishedAt(behind)) !== null, 20_000);
    expect(await publishedAt(orphan)).toBeNull(); // still there, for when the topic is created
  } finally {
    await mysql('outbox').whereIn('event_id', [orphan, behind]).delete();
    await Promise.allSettled([topics.close(), producer.disconnect()]);
  }
});
