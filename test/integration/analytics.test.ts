/**
 * Analytics end to end on the real servers: the API publishes events (views, cart and wishlist adds, searches,
 * clicks) through the outbox, the saga's order events are translated by the consumer; every event reaches
 * Kafka (shopflow.analytics) and Cassandra; the reports through the admin API count a scripted sequence
 * exactly; redelivered events and a consumer crashing mid-batch never count twice; reports are admin-only.
 *
 * Isolation: this file's consumer group and Redis prefix are its own, and every assertion is about this
 * file's own items, category, users and queries (other tests share the stores and the topics).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer } from 'kafkajs';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { logger } from '../../lib/logger';
import { TOPICS } from '../../stores/kafka/topics';
import { AnalyticsConsumer } from '../../analytics/consumer';
import { AnalyticsPipeline } from '../../read-models/pipeline';
import { pipelineSettings } from '../../read-models/settings';
import { ReportService } from '../../analytics/reports';
import { RawEventStore } from '../../analytics/raw-store';
import type { AnalyticsEvent } from '../../analytics/model';
import { SearchIndexer } from '../../search/indexer';
import { exportDays } from '../../scripts/export-events';

const tag = randomUUID().replace(/-/g, '').slice(0, 10);
const prefix = `test-analytics-${tag}:`;
const category = `AnCat-${tag}`;
const word = `zqan${tag}`;

let p: Platform;
let consumer: AnalyticsConsumer;
let pipeline: AnalyticsPipeline;
let tap: Consumer;
const seen: AnalyticsEvent[] = [];
let admin: TestUser;
let u1: TestUser;
let u2: TestUser;
let u3: TestUser;
let itemA: string;
let itemB: string;

beforeAll(async () => {
  p = await startPlatform({ relay: true, env: { ANALYTICS_REDIS_PREFIX: prefix } });
  pipeline = new AnalyticsPipeline(p.stores.redis, p.stores.cassandra, pipelineSettings(p.cfg));
  consumer = new AnalyticsConsumer(p.stores.kafka, p.stores.producer, p.stores.mysql, pipeline, logger, {
    groupId: `test-analytics-${tag}`,
    fromBeginning: false,
  });
  // A plain consumer on the topic: what really travelled on Kafka.
  tap = p.stores.kafka.consumer({ groupId: `test-analytics-tap-${tag}`, maxWaitTimeInMs: 200 });
  await tap.connect();
  await tap.subscribe({ topic: TOPICS.analytics.name, fromBeginning: false });
  const joined = new Promise<void>((resolve) => tap.on(tap.events.GROUP_JOIN, () => resolve()));
  await tap.run({ eachMessage: async ({ message }) => void seen.push(JSON.parse(message.value!.toString())) });
  await Promise.all([joined, consumer.start()]);
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  [u1, u2, u3] = await Promise.all([
    makeUser(p.stores.mysql, p.deps.tokens),
    makeUser(p.stores.mysql, p.deps.tokens),
    makeUser(p.stores.mysql, p.deps.tokens),
  ]);
  itemA = await makeItem(p.stores.mysql, { stock: 100, price: 10, category, name: `${word}lamp A` });
  itemB = await makeItem(p.stores.mysql, { stock: 100, price: 25.5, category, name: `${word}lamp B` });
  // Index them directly (no search indexer process in this file), so a search finds them.
  await new SearchIndexer(p.stores.mysql, p.stores.mongo.db(), p.stores.search, logger).sync([itemA, itemB]);
  await p.stores.search.refresh();
});
afterAll(async () => {
  await tap?.disconnect();
  await consumer?.stop();
  await p?.stop();
});

const as = (u: TestUser) => ({ token: u.token });
const report = async (path: string, u: TestUser = admin) => {
  const r = await call(p.baseUrl, 'GET', path, as(u));
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
async function order(
  u: TestUser,
  items: { item_id: string; quantity: number }[],
  paymentMethod = 'pm_card_visa',
  until = 'placed',
): Promise<string> {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    ...as(u),
    body: { user_id: u.userId, items, payment_method: paymentMethod },
  });
  expect(r.status).toBe(201);
  const id = r.body.order_id as string;
  await eventually(async () => (await call(p.baseUrl, 'GET', `/orders/${id}`, as(u))).body.status === until, 30_000);
  return id;
}
const eventsOf = (pred: (e: AnalyticsEvent) => boolean) => seen.filter(pred);

describe('a scripted sequence of shopper actions', () => {
  const queryHit = `${word}lamp`;
  const queryMiss = `${word} nothing here`;
  let placedOrder: string;
  let canceledOrder: string;

  beforeAll(async () => {
    // u1: views A and B, adds A (x2) to the cart and B to the wishlist, searches twice, clicks A, buys 2 A + 1 B.
    // u2: views A, adds A to the cart, searches once; the order of 1 A is declined (canceled).
    // u3: views B (anonymously once more); searches for nothing, twice.
    await call(p.baseUrl, 'GET', `/items/${itemA}`, as(u1));
    await call(p.baseUrl, 'GET', `/items/${itemB}`, as(u1));
    expect(
      (await call(p.baseUrl, 'POST', `/users/${u1.userId}/cart`, { ...as(u1), body: { item_id: itemA, quantity: 2 } }))
        .status,
    ).toBe(201);
    expect(
      (await call(p.baseUrl, 'POST', `/users/${u1.userId}/wishlist`, { ...as(u1), body: { item_id: itemB } })).status,
    ).toBe(201);
    expect(
      (await call(p.baseUrl, 'GET', `/search?query=${encodeURIComponent(queryHit)}`, as(u1))).body.length,
    ).toBeGreaterThan(0);
    await call(p.baseUrl, 'GET', `/search?query=${encodeURIComponent(queryHit.toUpperCase())}`, as(u1));
    expect(
      (await call(p.baseUrl, 'POST', '/search/clicks', { ...as(u1), body: { query: queryHit, item_id: itemA } }))
        .status,
    ).toBe(202);
    await call(p.baseUrl, 'GET', `/items/${itemA}`, as(u2));
    await call(p.baseUrl, 'POST', `/users/${u2.userId}/cart`, { ...as(u2), body: { item_id: itemA } });
    await call(p.baseUrl, 'GET', `/search?query=${encodeURIComponent(`  ${queryHit} `)}`, as(u2));
    await call(p.baseUrl, 'GET', `/items/${itemB}`, as(u3));
    await call(p.baseUrl, 'GET', `/items/${itemB}`);
    expect((await call(p.baseUrl, 'GET', `/search?query=${encodeURIComponent(queryMiss)}`, as(u3))).body).toEqual([]);
    await call(p.baseUrl, 'GET', `/search?query=${encodeURIComponent(queryMiss)}`);
    placedOrder = await order(u1, [
      { item_id: itemA, quantity: 2 },
      { item_id: itemB, quantity: 1 },
    ]);
    canceledOrder = await order(u2, [{ item_id: itemA, quantity: 1 }], 'pm_card_chargeDeclined', 'canceled');
    // Every event counted: 5 views, 2 cart adds, 1 wishlist add, 5 searches, 1 click, 1 placed, 1 canceled.
    await eventually(
      async () => {
        const f = await report(`/admin/reports/funnel?last=30&category=${encodeURIComponent(category)}`);
        const sales = await report(`/admin/reports/sales/categories?last=30&category=${encodeURIComponent(category)}`);
        return f.stages[0].events === 5 && f.stages[3].events === 1 && sales.categories[0].canceled_units === 1;
      },
      60_000,
      250,
    );
  });

  test('every kind of event reached Kafka in the seed schema (plus type, item ids, event id)', async () => {
    await eventually(
      async () => eventsOf((e) => e.event_type === 'order_canceled' && e.order_id === canceledOrder).length > 0,
      30_000,
    );
    const mine = (e: AnalyticsEvent) =>
      e.item_ids.some((i) => i === itemA || i === itemB) || e.search_query.includes(word);
    const types = new Set(eventsOf(mine).map((e) => e.event_type));
    expect([...types].sort()).toEqual([
      'cart_add',
      'item_view',
      'order_canceled',
      'order_placed',
      'search',
      'search_click',
      'wishlist_add',
    ]);
    const view = eventsOf(
      (e) => e.event_type === 'item_view' && e.user_id === u1.userId && e.item_ids[0] === itemA,
    )[0]!;
    expect(view).toEqual({
      event_id: expect.any(String),
      event_type: 'item_view',
      user_id: u1.userId,
      search_query: '',
      timestamp: expect.any(String),
      clicked_items: [],
      item_ids: [itemA],
      categories: [category],
    });
    const placed = eventsOf((e) => e.event_type === 'order_placed' && e.order_id === placedOrder)[0]!;
    expect(placed).toMatchObject({
      user_id: u1.userId,
      item_ids: expect.arrayContaining([itemA, itemB]),
      total_price: 45.5,
      source_event_id: expect.any(String),
    });
    expect(placed.event_id).toBe(`order-analytics-${placed.source_event_id}`);
    expect(placed.lines).toEqual(
      expect.arrayContaining([
        { item_id: itemA, quantity: 2, price: 10, category },
        { item_id: itemB, quantity: 1, price: 25.5, category },
      ]),
    );
    const miss = eventsOf((e) => e.event_type === 'search' && e.search_query === queryMiss);
    expect(miss.map((e) => e.result_count)).toEqual([0, 0]);
  });

  test('every event is in Cassandra, once, and the export writes it as NDJSON', async () => {
    const raw = new RawEventStore(p.stores.cassandra);
    const mine = eventsOf((e) => e.item_ids.some((i) => i === itemA || i === itemB) || e.search_query.includes(word));
    expect(mine.length).toBeGreaterThanOrEqual(16);
    for (const e of mine) expect(await raw.has(e)).toBe(true);
    const days = [...new Set(mine.map((e) => e.timestamp.slice(0, 10)))];
    const dir = await mkdtemp(join(tmpdir(), 'export-'));
    const out = await exportDays(raw, days, dir);
    const lines = (await Promise.all(out.map((o) => readFile(o.file, 'utf8'))))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AnalyticsEvent);
    const byId = new Map(lines.map((l) => [l.event_id, l]));
    for (const e of mine) expect(byId.get(e.event_id)).toEqual(e);
    expect(lines.filter((l) => l.event_id === mine[0]!.event_id)).toHaveLength(1);
    // In time order across the day's partitions (buckets merged).
    const times = lines.map((l) => Date.parse(l.timestamp));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
  });

  test('sales per item and per category: units and revenue of placed orders, canceled units apart, per minute', async () => {
    const items = (await report(`/admin/reports/sales/items?last=30&item_id=${itemA},${itemB}`)).items;
    expect(items.map((i: { item_id: string }) => i.item_id)).toEqual([itemA, itemB]);
    expect(items[0]).toMatchObject({ units: 2, revenue: 20, canceled_units: 1, canceled_value: 10 });
    expect(items[1]).toMatchObject({ units: 1, revenue: 25.5, canceled_units: 0, canceled_value: 0 });
    const perMinute = items[0].per_minute as { minute: string; units: number; revenue: number }[];
    expect(perMinute.reduce((s, m) => s + m.units, 0)).toBe(2);
    expect(perMinute.every((m) => m.minute.endsWith(':00.000Z'))).toBe(true);
    const cats = (await report(`/admin/reports/sales/categories?last=30&category=${encodeURIComponent(category)}`))
      .categories;
    expect(cats).toEqual([
      expect.objectContaining({ category, units: 3, revenue: 45.5, canceled_units: 1, canceled_value: 10 }),
    ]);
    // Our category is among the top ones of the window when asked without a filter.
    const top = (await report('/admin/reports/sales/categories?last=30&limit=100')).categories;
    expect(top.find((c: { category: string }) => c.category === category)).toMatchObject({ units: 3, revenue: 45.5 });
  });

  test('top queries (case and spacing ignored) and zero-result queries', async () => {
    const top = (await report('/admin/reports/queries/top?last=30&limit=100')).queries;
    expect(top).toEqual(
      expect.arrayContaining([
        { query: queryHit, count: 3 },
        { query: queryMiss, count: 2 },
      ]),
    );
    const zero = (await report('/admin/reports/queries/zero-results?last=30&limit=100')).queries;
    expect(zero).toEqual(expect.arrayContaining([{ query: queryMiss, count: 2 }]));
    expect(zero.find((q: { query: string }) => q.query === queryHit)).toBeUndefined();
  });

  test('the funnel of the category: events and distinct users per stage, conversion', async () => {
    const f = await report(`/admin/reports/funnel?last=30&category=${encodeURIComponent(category)}`);
    expect(f.category).toBe(category);
    expect(f.stages).toEqual([
      { stage: 'view', events: 5, users: 3 },
      { stage: 'cart', events: 2, users: 2 },
      { stage: 'wishlist', events: 1, users: 1 },
      { stage: 'order', events: 1, users: 1 },
    ]);
    expect(f.conversion).toEqual({ view_to_cart: 0.6667, cart_to_order: 0.5, view_to_order: 0.3333 });
  });

  test('a window before the events sees none of them; from/to windows work', async () => {
    const before = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const earlier = new Date(Date.now() - 2 * 3_600_000).toISOString();
    const r = await report(`/admin/reports/sales/items?from=${before}&to=${earlier}&item_id=${itemA}`);
    expect(r.items).toEqual([expect.objectContaining({ item_id: itemA, units: 0, revenue: 0 })]);
    expect(r.window.minutes).toBe(61);
    const now = await report(
      `/admin/reports/sales/items?from=${new Date(Date.now() - 20 * 60_000).toISOString()}&item_id=${itemA}`,
    );
    expect(now.items[0]).toMatchObject({ units: 2 });
    // from after to: an empty window, not an error.
    expect((await report(`/admin/reports/funnel?from=${earlier}&to=${before}`)).window.minutes).toBe(0);
  });

  test('redelivery: the same events published again change no count', async () => {
    const again = eventsOf(
      (e) => (e.item_ids.includes(itemA) || e.item_ids.includes(itemB)) && e.event_type !== 'search',
    );
    expect(again.length).toBeGreaterThan(5);
    const dupsBefore = pipeline.duplicates;
    await p.stores.producer.send({
      topic: TOPICS.analytics.name,
      messages: again.map((e) => ({ key: e.user_id ?? 'anonymous', value: JSON.stringify(e) })),
    });
    await eventually(async () => pipeline.duplicates - dupsBefore >= again.length, 30_000);
    const f = await report(`/admin/reports/funnel?last=30&category=${encodeURIComponent(category)}`);
    expect(f.stages.map((s: { events: number }) => s.events)).toEqual([5, 2, 1, 1]);
    const items = (await report(`/admin/reports/sales/items?last=30&item_id=${itemA}`)).items;
    expect(items[0]).toMatchObject({ units: 2, revenue: 20, canceled_units: 1 });
  });
});

describe('exactly once across crashes', () => {
  const fakeOrder = (itemId: string, userId: string, n: number): AnalyticsEvent => ({
    event_id: `crash-${tag}-${n}`,
    event_type: 'order_placed',
    user_id: userId,
    search_query: '',
    timestamp: new Date().toISOString(),
    clicked_items: [],
    item_ids: [itemId],
    categories: [category],
    order_id: `o-${tag}-${n}`,
    lines: [{ item_id: itemId, quantity: 1, price: 1.5, category }],
    total_price: 1.5,
  });

  test('a consumer that crashes after applying a chunk but before committing, then a new instance of the group, count each event once', async () => {
    // Its own prefix: only the consumers of this test count into it.
    const crashPrefix = `${prefix}crash:`;
    const group = `test-analytics-crash-${tag}`;
    const item = `crash-item-${tag}`;
    const user = `crash-user-${tag}`;
    let crashes = 0;
    const deliveries = new Map<string, number>();
    const mk = (crash: boolean) => {
      const pl = new AnalyticsPipeline(p.stores.redis, p.stores.cassandra, pipelineSettings(p.cfg, crashPrefix));
      const c = new AnalyticsConsumer(p.stores.kafka, p.stores.producer, p.stores.mysql, pl, logger, {
        groupId: group,
        fromBeginning: false,
        chunkSize: 5,
        afterChunkApplied: (events) => {
          for (const e of events)
            if (e.event_id.startsWith(`crash-${tag}-`))
              deliveries.set(e.event_id, (deliveries.get(e.event_id) ?? 0) + 1);
          // The second chunk of our events is applied, then the process "dies" before resolving its offsets.
          if (crash && crashes === 0 && events.some((e) => e.event_id === `crash-${tag}-10`)) {
            crashes += 1;
            throw new Error('simulated crash after applying, before committing');
          }
        },
      });
      return { pl, c };
    };
    const first = mk(true);
    await first.c.start();
    const batch1 = Array.from({ length: 20 }, (_, i) => fakeOrder(item, user, i + 1));
    // One key: one partition, in order, most likely in one fetched batch.
    await p.stores.producer.send({
      topic: TOPICS.analytics.name,
      messages: batch1.map((e) => ({ key: user, value: JSON.stringify(e) })),
    });
    const reports = new ReportService(p.stores.redis, crashPrefix);
    const units = async () =>
      (
        await reports.sales(
          'item',
          { fromMinute: Math.floor(Date.now() / 60_000) - 5, toMinute: Math.floor(Date.now() / 60_000) },
          { limit: 1, members: [item] },
        )
      )[0]?.units ?? 0;
    await eventually(async () => crashes === 1 && (await units()) === 20, 60_000, 200);
    // The crashed chunk was delivered again (and dropped by the dedupe): at least events 6-10 twice.
    expect([...deliveries.values()].filter((n) => n >= 2).length).toBeGreaterThanOrEqual(5);
    expect(await units()).toBe(20);
    await first.c.stop();

    // A new instance of the group takes over from the committed offsets: more events, still each counted once.
    const second = mk(false);
    await second.c.start();
    const batch2 = Array.from({ length: 10 }, (_, i) => fakeOrder(item, user, 21 + i));
    await p.stores.producer.send({
      topic: TOPICS.analytics.name,
      messages: [...batch2, ...batch1.slice(15)].map((e) => ({ key: user, value: JSON.stringify(e) })),
    });
    await eventually(
      async () =>
        (await units()) >= 30 &&
        (deliveries.get(`crash-${tag}-30`) ?? 0) >= 1 &&
        (deliveries.get(`crash-${tag}-20`) ?? 0) >= 2,
      60_000,
      200,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await units()).toBe(30);
    await second.c.stop();
  });
});

describe('admin only, validated', () => {
  const paths = [
    '/admin/reports/sales/items',
    '/admin/reports/sales/categories',
    '/admin/reports/queries/top',
    '/admin/reports/queries/zero-results',
    '/admin/reports/funnel',
    '/admin/reports/events',
  ];

  test('a customer gets 403, no token 401, an admin 200', async () => {
    for (const path of paths) {
      const c = await call(p.baseUrl, 'GET', `${path}?last=5`, as(u1));
      expect(c.status).toBe(403);
      expect(c.body).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
      expect((await call(p.baseUrl, 'GET', path)).status).toBe(401);
      expect((await call(p.baseUrl, 'GET', path, as(admin))).status).toBe(200);
    }
  });

  test('bad windows and parameters are 400 in the contract format', async () => {
    for (const qs of [
      'last=0',
      'last=abc',
      'from=yesterday',
      'to=2026-13-01T00:00:00Z',
      'limit=0',
      'limit=101',
      'nope=1',
      'item_id=a%20b',
      'last=5&last=6',
    ]) {
      const r = await call(p.baseUrl, 'GET', `/admin/reports/sales/items?${qs}`, as(admin));
      expect([qs, r.status]).toEqual([qs, 400]);
      expect(r.body.error.code).toBe('invalid_request');
    }
    const r = await call(p.baseUrl, 'GET', `/admin/reports/funnel?category[$ne]=x`, as(admin));
    expect(r.status).toBe(400);
  });
});
