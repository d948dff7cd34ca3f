/**
 * The outbox relay's housekeeping on the real MySQL: published rows older than the retention are deleted,
 * unpublished rows never are (whatever their age), recent ones stay.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { OutboxRelay } from '../../outbox/relay';
import { logger } from '../../lib/logger';
import type { Producer } from 'kafkajs';
import { createKafka, ensureTopics } from '../../stores/kafka/client';
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
  const relay = new OutboxRelay(mysql, {} as Producer, logger, 100, 500, DAY);
  const deleted = await relay.prunePublished(DAY, 2); // small batches: the loop must go on until none is left
  expect(deleted).toBeGreaterThanOrEqual(1);
  expect(await exists(old)).toBe(false);
  expect(await exists(recent)).toBe(true);
  expect(await exists(unpublished)).toBe(true);
  await mysql('outbox').whereIn('event_id', [recent, unpublished]).delete();
});
