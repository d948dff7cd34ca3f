/**
 * Foundation smoke test: each of the seven real servers, reached through the project's own client code,
 * takes a write and gives it back.
 */
import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../lib/config';
import { connectStores, checkReadiness, Stores } from '../../stores';
import { ensureTopics } from '../../stores/kafka/client';
import { TEST_TOPIC } from '../support/fixtures';
import { createNoopActivities } from '../../activities/noop-activities';
import { WORKFLOW_BUNDLE_PATH } from '../../workers/order-worker';
import { existsSync } from 'node:fs';

const cfg = loadConfig();
let stores: Stores;
const token = randomUUID();

beforeAll(async () => {
  stores = await connectStores(cfg);
  await ensureTopics(stores.kafka, [TEST_TOPIC]);
  await stores.cassandra.execute(
    `CREATE TABLE IF NOT EXISTS ${cfg.CASSANDRA_KEYSPACE}.smoke (id text PRIMARY KEY, value text)`,
  );
});
afterAll(async () => {
  await stores.close();
});

test('every store answers the readiness probe', async () => {
  const report = await checkReadiness(stores);
  expect(Object.entries(report).filter(([, s]) => !s.ok)).toEqual([]);
  expect(Object.keys(report).sort()).toEqual(['cassandra', 'kafka', 'mongodb', 'mysql', 'redis', 'search', 'temporal']);
});

test('MySQL (MariaDB): write and read a row', async () => {
  const email = `smoke-${token}@test.shopflow.dev`;
  await stores
    .mysql('users')
    .insert({ user_id: `smoke-${token.slice(0, 8)}`, name: 'Smoke', email, password_hash: 'x' });
  const row = await stores.mysql('users').where({ email }).first();
  expect(row.name).toBe('Smoke');
});

test('Redis: write and read a key with a TTL', async () => {
  await stores.redis.set(`smoke:${token}`, 'hello', 'PX', 60_000);
  expect(await stores.redis.get(`smoke:${token}`)).toBe('hello');
  expect(await stores.redis.pttl(`smoke:${token}`)).toBeGreaterThan(0);
});

test('Kafka: a produced message is consumed', async () => {
  const consumer = stores.kafka.consumer({ groupId: `smoke-${token}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TEST_TOPIC.name, fromBeginning: true });
  const seen = new Promise<string>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value?.toString() === token) resolve(message.key!.toString());
      },
    });
  });
  await stores.producer.send({ topic: TEST_TOPIC.name, messages: [{ key: 'smoke', value: token }] });
  await expect(seen).resolves.toBe('smoke');
  await consumer.disconnect();
});

test('Cassandra: write and read a row', async () => {
  await stores.cassandra.execute(
    `INSERT INTO ${cfg.CASSANDRA_KEYSPACE}.smoke (id, value) VALUES (?, ?)`,
    [token, 'hello'],
    { prepare: true },
  );
  const rs = await stores.cassandra.execute(`SELECT value FROM ${cfg.CASSANDRA_KEYSPACE}.smoke WHERE id = ?`, [token], {
    prepare: true,
  });
  expect(rs.first().get('value')).toBe('hello');
});

test('MongoDB (FerretDB): insert and find a document', async () => {
  const coll = stores.mongo.db().collection<{ _id: string; attributes: Record<string, string> }>('smoke');
  await coll.insertOne({ _id: token, attributes: { brand: 'Sony' } });
  expect(await coll.findOne({ _id: token })).toEqual({ _id: token, attributes: { brand: 'Sony' } });
});

test('OpenSearch: index and get a document', async () => {
  const doc = {
    item_id: `smoke-${token}`,
    supplier_id: null,
    name: 'Smoke TV',
    description: null,
    category: 'Smoke',
    price: 1.5,
    stock: 1,
    in_stock: true,
    attributes: { brand: 'Smoke' },
    updated_at: new Date().toISOString(),
  };
  await stores.search.ensureIndex();
  await stores.search.upsert(doc);
  expect(await stores.search.get(doc.item_id)).toEqual(doc);
  await stores.search.remove(doc.item_id);
});

test('Temporal: a workflow runs an activity on a worker', async () => {
  const taskQueue = `smoke-${token}`;
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    taskQueue,
    activities: createNoopActivities(),
    ...(existsSync(WORKFLOW_BUNDLE_PATH)
      ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
      : { workflowsPath: require.resolve('../../workflows') }),
  });
  await worker.runUntil(stores.temporal.workflow.execute('noopWorkflow', { taskQueue, workflowId: `smoke-${token}` }));
  const desc = await stores.temporal.workflow.getHandle(`smoke-${token}`).describe();
  expect(desc.status.name).toBe('COMPLETED');
  await connection.close();
});
