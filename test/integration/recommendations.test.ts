/**
 * Recommendations end to end on the real servers: orders through the saga, views and clicks through the API,
 * the analytics consumer keeping the model in Redis, GET /users/{id}/recommendations answering from it.
 * Buying A with B makes B appear for the next buyer of A; what a user bought and what is out of stock never
 * appear; co-clicked results recommend each other; a user with only a category interest gets that category's
 * best sellers; a new user gets the overall best sellers; self or admin only.
 *
 * Isolation: this file's consumer group and Redis prefix are its own (so "best sellers" are those of this
 * file's orders), and its items and categories are new.
 */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { logger } from '../../lib/logger';
import { AnalyticsConsumer } from '../../analytics/consumer';
import { AnalyticsPipeline } from '../../read-models/pipeline';
import { pipelineSettings } from '../../read-models/settings';
import { RecsKeys } from '../../recommendations/keys';

const tag = randomUUID().replace(/-/g, '').slice(0, 10);
const prefix = `test-recs-${tag}:`;
const catMain = `RecCat-${tag}`;
const catOther = `RecOther-${tag}`;

let p: Platform;
let consumer: AnalyticsConsumer;
let keys: RecsKeys;
let admin: TestUser;
const items: Record<string, string> = {};

beforeAll(async () => {
  p = await startPlatform({ relay: true, env: { ANALYTICS_REDIS_PREFIX: prefix } });
  const pipeline = new AnalyticsPipeline(p.stores.redis, p.stores.cassandra, pipelineSettings(p.cfg));
  keys = pipeline.recsKeys;
  consumer = new AnalyticsConsumer(p.stores.kafka, p.stores.producer, p.stores.mysql, pipeline, logger, {
    groupId: `test-recs-${tag}`,
    fromBeginning: false,
  });
  await consumer.start();
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  for (const [k, stock, price, category] of [
    ['a', 100, 10, catMain],
    ['b', 100, 20, catMain],
    ['c', 100, 30, catMain],
    ['s', 1, 5, catMain], // sells out with its first order
    ['x', 100, 7, catMain],
    ['y', 100, 8, catMain],
    ['p1', 100, 40, catOther],
    ['p2', 100, 41, catOther],
  ] as const) {
    items[k] = await makeItem(p.stores.mysql, { stock, price, category, name: `Rec ${k} ${tag}` });
  }
});
afterAll(async () => {
  await consumer?.stop();
  await p?.stop();
});

const user = () => makeUser(p.stores.mysql, p.deps.tokens);
async function buy(u: TestUser, ...ks: string[]): Promise<void> {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: u.token,
    body: { user_id: u.userId, items: ks.map((k) => ({ item_id: items[k], quantity: 1 })) },
  });
  expect(r.status).toBe(201);
  const id = r.body.order_id as string;
  await eventually(
    async () => (await call(p.baseUrl, 'GET', `/orders/${id}`, { token: u.token })).body.status === 'placed',
    30_000,
  );
  // The consumer has it once the user's bought set holds every item.
  await eventually(
    async () =>
      (await p.stores.redis.zmscore(keys.bought(u.userId), ...ks.map((k) => items[k]!))).every((s) => s !== null),
    30_000,
  );
}
async function recs(
  u: TestUser,
  as: TestUser = u,
  qs = '',
): Promise<{ item_id: string; name: string; price: number }[]> {
  const r = await call(p.baseUrl, 'GET', `/users/${u.userId}/recommendations${qs}`, { token: as.token });
  if (r.status !== 200) throw new Error(`recommendations: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
const ids = (list: { item_id: string }[]) => list.map((r) => r.item_id);
const name = (id: string) => Object.entries(items).find(([, v]) => v === id)?.[0] ?? id;
const names = (list: { item_id: string }[]) => ids(list).map(name);

let firstBuyer: TestUser;
let secondBuyer: TestUser;

describe('from orders', () => {
  test('users who buy A with B make B appear (first) for the next buyer of A; what they bought never appears', async () => {
    firstBuyer = await user();
    await buy(firstBuyer, 'a', 'b', 's'); // s is now out of stock
    secondBuyer = await user();
    await buy(secondBuyer, 'a');
    const list = await recs(secondBuyer);
    expect(list[0]).toEqual({ item_id: items.b, name: `Rec b ${tag}`, price: 20 });
    expect(ids(list)).not.toContain(items.a);
  });

  test('bought and out-of-stock items are never recommended', async () => {
    // s co-occurs with a (bought together) and is popular, but has no stock left.
    expect(await p.stores.redis.zscore(keys.co(items.a!), items.s!)).not.toBeNull();
    for (const u of [firstBuyer, secondBuyer]) {
      const list = names(await recs(u, u, '?limit=50'));
      expect(list).not.toContain('s');
      expect(list).not.toContain('a');
    }
    const first = names(await recs(firstBuyer, firstBuyer, '?limit=50'));
    expect(first).not.toContain('b');
    // A restock brings it back (stock is read at request time).
    await p.stores.mysql('items').where({ item_id: items.s }).update({ stock: 3 });
    expect(names(await recs(secondBuyer))).toContain('s');
    await p.stores.mysql('items').where({ item_id: items.s }).update({ stock: 0 });
    expect(names(await recs(secondBuyer, secondBuyer, '?limit=50'))).not.toContain('s');
  });

  test('bought by the same user in separate orders counts too', async () => {
    const u = await user();
    await buy(u, 'c');
    await buy(u, 'x');
    const next = await user();
    await buy(next, 'c');
    expect(names(await recs(next))[0]).toBe('x');
  });
});

describe('from views and clicks', () => {
  test('results co-clicked for one query recommend each other to a viewer', async () => {
    const clicker = await user();
    const q = `lamp ${tag}`;
    for (const k of ['y', 'p2'])
      expect(
        (
          await call(p.baseUrl, 'POST', '/search/clicks', {
            token: clicker.token,
            body: { query: q, item_id: items[k] },
          })
        ).status,
      ).toBe(202);
    await eventually(async () => (await p.stores.redis.zscore(keys.coView(items.y!), items.p2!)) !== null, 30_000);
    const viewer = await user();
    expect((await call(p.baseUrl, 'GET', `/items/${items.y}`, { token: viewer.token })).status).toBe(200);
    await eventually(async () => (await p.stores.redis.zscore(keys.viewed(viewer.userId), items.y!)) !== null, 30_000);
    expect(names(await recs(viewer))[0]).toBe('p2');
  });

  test("a user with only a category interest gets that category's best sellers first", async () => {
    const buyer = await user();
    await buy(buyer, 'p1');
    const browser = await user();
    // Viewing p1 (nothing co-occurs with it yet beyond its buyer's history) makes catOther this user's category.
    await call(p.baseUrl, 'GET', `/items/${items.p1}`, { token: browser.token });
    await eventually(
      async () => (await p.stores.redis.zscore(keys.categories(browser.userId), catOther)) !== null,
      30_000,
    );
    const list = names(await recs(browser));
    expect(list[0]).toBe('p1');
  });
});

describe('cold start', () => {
  test('a new user gets the best sellers, best first, in stock only', async () => {
    // a is bought a third time (c twice, the others once); s is out of stock.
    await buy(await user(), 'a');
    const cold = await user();
    // Other tests' orders placed meanwhile are counted too (the topic is shared): assert on ours, in order.
    const list = await recs(cold, cold, '?limit=50');
    const pop = await p.stores.redis.zrevrange(keys.popular(), 0, -1, 'WITHSCORES');
    const counts = new Map<string, number>();
    for (let i = 0; i < pop.length; i += 2) counts.set(pop[i]!, Number(pop[i + 1]));
    const scores = list.map((r) => counts.get(r.item_id) ?? 0);
    expect(scores.every((n) => n > 0)).toBe(true);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
    const ours = names(list).filter((n) => n in items);
    expect(ours.slice(0, 3)).toEqual(['a', 'c', expect.stringMatching(/^(b|x|p1)$/)]);
    expect(ours).not.toContain('s');
    expect(ours).toEqual(expect.arrayContaining(['a', 'b', 'c', 'x', 'p1']));
  });
});

describe('authorization and shape', () => {
  test('self or admin; another customer 403; no token 401; unknown user 404 for an admin; bad limit 400', async () => {
    const u = await user();
    const other = await user();
    expect((await call(p.baseUrl, 'GET', `/users/${u.userId}/recommendations`, { token: u.token })).status).toBe(200);
    expect((await call(p.baseUrl, 'GET', `/users/${u.userId}/recommendations`, { token: admin.token })).status).toBe(
      200,
    );
    const forbidden = await call(p.baseUrl, 'GET', `/users/${u.userId}/recommendations`, { token: other.token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
    expect((await call(p.baseUrl, 'GET', `/users/${u.userId}/recommendations`)).status).toBe(401);
    expect((await call(p.baseUrl, 'GET', `/users/nobody-${tag}/recommendations`, { token: admin.token })).status).toBe(
      404,
    );
    for (const qs of ['limit=0', 'limit=51', 'limit=x', 'other=1'])
      expect(
        (await call(p.baseUrl, 'GET', `/users/${u.userId}/recommendations?${qs}`, { token: u.token })).status,
      ).toBe(400);
    const list = await recs(u, u, '?limit=2');
    expect(list.length).toBeLessThanOrEqual(2);
    for (const r of list) expect(Object.keys(r).sort()).toEqual(['item_id', 'name', 'price']);
  });
});
