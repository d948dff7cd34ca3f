/**
 * Search through the API on the real OpenSearch: relevance, price sort, category/attribute/price filters,
 * paging and its caps, the out-of-stock rule, the index catching up through Kafka (outbox relay -> our
 * indexer's own consumer group) after seller restocks and after the order saga's reservations and releases,
 * stale events ignored, analytics events, and injection / bad input refused.
 */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { logger } from '../../lib/logger';
import { SearchIndexConsumer, SearchIndexer, toDocument } from '../../search/indexer';
import { buildSearchBody, searchItems, SearchQuery } from '../../search/query';
import { classifyStoreError } from '../../stores/errors';
import { deadPort } from '../support/dead-port';

let p: Platform;
let consumer: SearchIndexConsumer;
let indexer: SearchIndexer;
let supplier: TestUser;
let customer: TestUser;
const tag = randomUUID().replace(/-/g, '').slice(0, 10);
const word = `zq${tag}`; // one token, in no other test's data
const category = `Cat${tag}`;
const ids = { a: `sa-${tag}`, b: `sb-${tag}`, c: `sc-${tag}`, d: `sd-${tag}`, e: `se-${tag}` };
const lags: Record<string, number> = {};

async function search(qs: string, token?: string) {
  const r = await call(p.baseUrl, 'GET', `/search?${qs}`, { token });
  if (r.status !== 200) throw new Error(`search ${qs}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}
const found = async (qs: string) => (await search(qs)).body.map((h: { item_id: string }) => h.item_id) as string[];
const inCat = (extra = '') => `filter=${encodeURIComponent(`category:${category}${extra}`)}`;
const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const put = (id: string, body: Record<string, unknown>) =>
  call(p.baseUrl, 'PUT', `/items/${id}`, { token: supplier.token, body });

beforeAll(async () => {
  p = await startPlatform({ relay: true });
  supplier = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  customer = await makeUser(p.stores.mysql, p.deps.tokens, 'customer');
  indexer = new SearchIndexer(p.stores.mysql, p.stores.mongo.db(), p.stores.search, logger);
  consumer = new SearchIndexConsumer(p.stores.kafka, indexer, logger, {
    groupId: `test-search-indexer-${tag}`,
    fromBeginning: false,
  });
  await consumer.start();

  const r = await call(p.baseUrl, 'POST', '/items/bulk', {
    token: supplier.token,
    body: {
      create: [
        {
          item_id: ids.a,
          name: `Quasar ${word} speaker`,
          category,
          price: 50,
          stock: 5,
          attributes: { brand: 'Sony', color: 'black' },
        },
        {
          item_id: ids.b,
          name: 'Plain speaker',
          description: `pairs well with a ${word} amplifier`,
          category,
          price: 20,
          stock: 3,
          attributes: { brand: 'Bose' },
        },
        { item_id: ids.c, name: `${word} headphones`, category, price: 80, stock: 2, attributes: { brand: 'Sony' } },
        { item_id: ids.d, name: `${word} sold out`, category, price: 10, stock: 0, attributes: { brand: 'Sony' } },
        {
          item_id: ids.e,
          name: 'Other thing',
          category,
          price: 30,
          stock: 1,
          attributes: { brand: 'LG', series: word },
        },
      ],
    },
  });
  expect(r.status).toBe(200);
  const t0 = Date.now();
  await eventually(async () => sameSet(await found(inCat()), [ids.a, ids.b, ids.c, ids.e]), 30_000, 100);
  lags.create = Date.now() - t0;
});
afterAll(async () => {
  await consumer?.stop();
  await p?.stop();
  console.log(`search index lag (API answer -> visible in search), ms: ${JSON.stringify(lags)}`);
});

describe('relevance, sort, filters, paging', () => {
  test('a word in the name ranks above the same word in the description or an attribute', async () => {
    const hits = await found(`query=${word}&${inCat()}`);
    expect(sameSet(hits, [ids.a, ids.b, ids.c, ids.e])).toBe(true);
    expect(sameSet(hits.slice(0, 2), [ids.a, ids.c])).toBe(true);
  });

  test('the seed shape: item_id, name, price, category (and attributes)', async () => {
    const r = await search(`query=${encodeURIComponent(`quasar ${word}`)}&${inCat()}&limit=1`);
    expect(r.body).toEqual([
      {
        item_id: ids.a,
        name: `Quasar ${word} speaker`,
        price: 50,
        category,
        supplier_id: supplier.userId,
        attributes: { brand: 'Sony', color: 'black' },
        images: [],
      },
    ]);
    expect(r.headers.get('x-total-count')).toBe('4');
    expect(r.headers.get('x-total-count-relation')).toBe('eq');
  });

  test('a broad search counts its matches only up to a bound, then says "at least" (and still pages on)', async () => {
    const q: SearchQuery = { sort: 'price', categories: [category], attributes: {}, limit: 1, offset: 0 };
    expect(await searchItems(p.stores.search, q, 2)).toMatchObject({ total: 2, totalIsExact: false });
    expect(await searchItems(p.stores.search, q, 10)).toMatchObject({ total: 4, totalIsExact: true });
    const last = await searchItems(p.stores.search, { ...q, offset: 3 }, 2);
    expect(last.hits.map((h) => h.item_id)).toEqual([ids.c]); // past the counted two: the fourth by price
  });

  test('sort by price, ascending and descending', async () => {
    expect(await found(`${inCat()}&sort=price`)).toEqual([ids.b, ids.e, ids.a, ids.c]);
    expect(await found(`${inCat()}&sort=-price`)).toEqual([ids.c, ids.a, ids.e, ids.b]);
  });

  test('filters: category, any attribute (OR within one, AND across), price range', async () => {
    expect(sameSet(await found(inCat(',brand:Sony')), [ids.a, ids.c])).toBe(true);
    expect(sameSet(await found(inCat(',brand:Sony,brand:Bose')), [ids.a, ids.b, ids.c])).toBe(true);
    expect(await found(inCat(',brand:Sony,color:black'))).toEqual([ids.a]);
    expect(await found(inCat(',brand:Nobody'))).toEqual([]);
    expect(await found(`${inCat()}&min_price=25&max_price=60&sort=price`)).toEqual([ids.e, ids.a]);
    expect(await found(`${inCat()}&min_price=80`)).toEqual([ids.c]);
  });

  test('paging: limit and offset walk the results without overlap', async () => {
    const first = await search(`${inCat()}&sort=price&limit=2&offset=0`);
    const second = await search(`${inCat()}&sort=price&limit=2&offset=2`);
    expect(first.body.map((h: { item_id: string }) => h.item_id)).toEqual([ids.b, ids.e]);
    expect(second.body.map((h: { item_id: string }) => h.item_id)).toEqual([ids.a, ids.c]);
    expect(await found(`${inCat()}&sort=price&limit=2&offset=4`)).toEqual([]);
  });
});

describe('out of stock never shows; the index follows stock changes', () => {
  test('a sold-out item is hidden; a restock brings it back; selling out hides it again', async () => {
    expect(await found(`query=${word}&${inCat()}`)).not.toContain(ids.d);
    let t0 = Date.now();
    expect((await put(ids.d, { stock: 3 })).status).toBe(200);
    await eventually(async () => (await found(`${inCat()}&sort=price`))[0] === ids.d, 30_000, 50);
    lags.restock = Date.now() - t0;
    t0 = Date.now();
    expect((await put(ids.d, { stock: 0 })).status).toBe(200);
    await eventually(async () => !(await found(inCat())).includes(ids.d), 30_000, 50);
    lags.sellOut = Date.now() - t0;
  });

  test('a price change and new attributes reach the index', async () => {
    const t0 = Date.now();
    expect((await put(ids.e, { price: 99.5, attributes: { brand: 'LG', series: word, finish: 'matte' } })).status).toBe(
      200,
    );
    await eventually(async () => (await found(`${inCat(',finish:matte')}&min_price=99.5`))[0] === ids.e, 30_000, 50);
    lags.update = Date.now() - t0;
  });

  test("the order saga's reservation hides the last unit; the cancel's release brings it back", async () => {
    const lastUnit = `sf-${tag}`;
    const made = await call(p.baseUrl, 'POST', '/items', {
      token: supplier.token,
      body: { item_id: lastUnit, name: `${word} last unit`, category, price: 5, stock: 1 },
    });
    expect(made.status).toBe(201);
    await eventually(async () => (await found(inCat())).includes(lastUnit), 30_000, 50);

    let t0 = Date.now();
    const order = await call(p.baseUrl, 'POST', '/orders', {
      token: customer.token,
      body: {
        user_id: customer.userId,
        items: [{ item_id: lastUnit, quantity: 1 }],
        payment_method: 'pm_card_noResponse',
      },
    });
    expect([order.status, order.body.status]).toEqual([201, 'created']);
    await eventually(async () => !(await found(inCat())).includes(lastUnit), 30_000, 50);
    lags.reservation = Date.now() - t0;
    expect((await call(p.baseUrl, 'GET', `/items/${lastUnit}`)).body.stock).toBe(0);

    t0 = Date.now();
    const cancel = await call(p.baseUrl, 'POST', `/orders/${order.body.order_id}/cancel`, { token: customer.token });
    expect(cancel.status).toBe(200);
    await eventually(async () => (await found(inCat())).includes(lastUnit), 30_000, 50);
    lags.release = Date.now() - t0;
  });

  test('stale or repeated events are ignored: an older version never overwrites a newer one', async () => {
    const row = await p.stores.mysql('items').where({ item_id: ids.a }).first();
    const stale = await p.stores.search.bulkUpsert([
      { doc: toDocument({ ...row, stock: 0 }, { attributes: {}, images: [] }), version: Number(row.version) - 1 },
    ]);
    expect(stale).toEqual({ indexed: 0, stale: 1, failed: [] });
    const again = await indexer.sync([ids.a, ids.a.toUpperCase()]);
    expect(again.indexed + again.stale).toBeGreaterThanOrEqual(1);
    await p.stores.search.refresh();
    expect(await p.stores.search.get(ids.a)).toMatchObject({
      stock: 5,
      in_stock: true,
      attributes: { brand: 'Sony', color: 'black' },
    });
  });
});

describe('analytics events', () => {
  const analyticsRows = () => p.stores.mysql('outbox').where({ topic: 'shopflow.analytics' });
  test('a search and a click each publish an event with the seed schema, through the outbox to Kafka', async () => {
    const q = `${word} analytics`;
    await search(`query=${encodeURIComponent(q)}&${inCat()}`, customer.token);
    const click = await call(p.baseUrl, 'POST', '/search/clicks', {
      token: customer.token,
      body: { query: q, item_id: ids.a },
    });
    expect(click.status).toBe(202);
    const rows = await analyticsRows().andWhere('payload', 'like', `%${word} analytics%`).orderBy('id');
    const events = rows.map((r: { payload: string }) => JSON.parse(r.payload));
    expect(events).toEqual([
      {
        event_id: expect.any(String),
        event_type: 'search',
        user_id: customer.userId,
        search_query: q,
        timestamp: expect.any(String),
        clicked_items: [],
        item_ids: expect.any(Array),
        result_count: expect.any(Number),
      },
      {
        event_id: click.body.event_id,
        event_type: 'search_click',
        user_id: customer.userId,
        search_query: q,
        timestamp: expect.any(String),
        clicked_items: [ids.a],
        item_ids: [ids.a],
      },
    ]);
    await eventually(
      async () =>
        (
          await analyticsRows()
            .whereIn(
              'id',
              rows.map((r: { id: number }) => r.id),
            )
            .whereNull('published_at')
        ).length === 0,
      30_000,
    );
  });

  test('a click on an unknown item is a 404; a bad click body a 400; nothing recorded', async () => {
    const before = (await analyticsRows().count({ n: '*' }))[0].n;
    expect(
      (await call(p.baseUrl, 'POST', '/search/clicks', { body: { query: 'x', item_id: `nope-${tag}` } })).status,
    ).toBe(404);
    expect(
      (await call(p.baseUrl, 'POST', '/search/clicks', { body: { query: { $gt: '' }, item_id: ids.a } })).status,
    ).toBe(400);
    expect(
      (await call(p.baseUrl, 'POST', '/search/clicks', { body: { query: 'x', item_id: ids.a, user_id: 'someone' } }))
        .status,
    ).toBe(400);
    expect((await analyticsRows().count({ n: '*' }))[0].n).toBe(before);
  });
});

describe("searches sent together (_msearch, a busy API process's batching)", () => {
  const body = (q: Partial<SearchQuery>) =>
    buildSearchBody({ categories: [category], attributes: {}, sort: 'relevance', limit: 10, offset: 0, ...q });

  test('each search of a batch finds exactly what it finds alone, in the order sent', async () => {
    const bodies = [
      body({ text: word }),
      body({ sort: 'price' }),
      body({ sort: '-price', attributes: { brand: ['Sony'] } }),
      body({ minPrice: 25, maxPrice: 60, sort: 'price' }),
      body({ text: `nothing${tag}` }),
    ];
    const together = await p.stores.search.searchMany(bodies);
    const alone = await Promise.all(bodies.map((b) => p.stores.search.search(b)));
    expect(together).toEqual(alone);
    // The batch had something to get wrong: four searches that find items (earlier tests change which), one none.
    expect(alone.map((r) => r.sources.length > 0)).toEqual([true, true, true, true, false]);
  });

  test("a search the engine refuses fails alone, with the engine's 4xx; the others in its batch are answered", async () => {
    const refused = { ...body({}), sort: [{ description: 'asc' }] }; // a text field: no doc values to sort on
    const [before, bad, after] = await p.stores.search.searchMany([
      body({ sort: 'price' }),
      refused,
      body({ text: word }),
    ]);
    expect(bad).toBeInstanceOf(Error);
    expect((bad as { statusCode?: number }).statusCode).toBe(400);
    expect(classifyStoreError(bad)).toBeUndefined(); // not a store fault: the route answers 400 search_rejected, not 503
    expect((before as { sources: unknown[] }).sources.length).toBeGreaterThan(0);
    expect((after as { sources: unknown[] }).sources.length).toBeGreaterThan(0);
  });
});

test.each([
  ['one search per request', undefined],
  ['batched', { inFlight: 1, maxBatch: 32, maxWaiting: 64 }],
])('a search engine that does not answer is a 503 in the contract format, not a 500 (%s)', async (_how, batching) => {
  const { createApp } = await import('../../api/app');
  const { createSearch } = await import('../../stores/search');
  const dead = createSearch('opensearch', `http://127.0.0.1:${await deadPort()}`, 'items_test', batching);
  const app = createApp({ ...p.deps, stores: { ...p.deps.stores, search: dead } });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  try {
    // Several at once, so that the batched engine sends some of them together.
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((w) => call(base, 'GET', `/search?query=${word}${w}`)));
    for (const r of answers) {
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('search_unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  } finally {
    server.close();
    await dead.close();
  }
});

test('an engine that accepts and never answers: a few searches wait for it, the rest get 503 at once, not a queue', async () => {
  const { createApp } = await import('../../api/app');
  const { createSearch } = await import('../../stores/search');
  const net = await import('node:net');
  const held: import('node:net').Socket[] = [];
  const hung = net.createServer((socket) => void held.push(socket)); // reads requests, answers none
  await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
  const engineUrl = `http://127.0.0.1:${(hung.address() as import('node:net').AddressInfo).port}`;
  const search = createSearch('opensearch', engineUrl, 'items_test', { inFlight: 1, maxBatch: 2, maxWaiting: 2 });
  const app = createApp({ ...p.deps, stores: { ...p.deps.stores, search } });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  try {
    const first = call(base, 'GET', `/search?query=${word}first`);
    await eventually(async () => held.length === 1, 5_000, 20);
    const rest = Array.from({ length: 8 }, (_, i) => call(base, 'GET', `/search?query=${word}n${i}`));
    // One search holds the only slot and two may wait for it: the other six are answered without waiting.
    const settled = await Promise.race([
      Promise.all(rest.slice(2)),
      new Promise<'waited'>((r) => setTimeout(() => r('waited'), 3_000)),
    ]);
    expect(settled).not.toBe('waited');
    for (const r of settled as Awaited<(typeof rest)[number]>[]) {
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('search_unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    hung.close(); // the engine goes away: the searches it held fail (their retries are refused), as 503
    for (const socket of held) socket.destroy();
    for (const r of await Promise.all([first, ...rest.slice(0, 2)])) expect(r.status).toBe(503);
  } finally {
    server.close();
    hung.close();
    for (const socket of held) socket.destroy();
    await search.close();
  }
});

describe('bad input is a 400, never query DSL', () => {
  const cases: [string, string][] = [
    ['a 5,000-character query', `query=${'a'.repeat(5_000)}`],
    ['an array where a string belongs', 'query=a&query=b'],
    ['an unknown sort', 'sort=name'],
    ['a sort by a script', `sort=${encodeURIComponent('{"_script":{}}')}`],
    ['a filter on price', 'filter=price:5'],
    ['a filter on stock', 'filter=stock:0'],
    ['a filter on in_stock', 'filter=in_stock:false'],
    ['an operator as filter field', `filter=${encodeURIComponent('$where:1')}`],
    ['a wildcard as filter field', `filter=${encodeURIComponent('*:x')}`],
    ['a dotted filter field', `filter=${encodeURIComponent('attributes.brand:Sony')}`],
    ['a filter without a value', 'filter=brand:'],
    ['a filter without a field', 'filter=Sony'],
    ['too many filters', `filter=${Array.from({ length: 11 }, (_, i) => `k${i}:v`).join(',')}`],
    ['a negative min_price', 'min_price=-1'],
    ['a price that is not a number', 'max_price=1e9'],
    ['limit above 100', 'limit=101'],
    ['limit 0', 'limit=0'],
    ['a negative offset', 'offset=-1'],
    ['offset 10000', 'offset=10000'],
    ['an unknown parameter', 'q=tv'],
    ['a nested parameter', 'filter[category]=x'],
    ['a control character in the query', `query=${encodeURIComponent('tv\u0000')}`],
  ];
  test.each(cases)('%s', async (_what, qs) => {
    const r = await call(p.baseUrl, 'GET', `/search?${qs}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', message: expect.any(String) });
  });

  test('paging stops at result 10,000 (a page reaching past it is cut short); an empty price range finds nothing', async () => {
    expect((await search(`${inCat()}&offset=9990&limit=20`)).body).toEqual([]);
    expect((await search(`${inCat()}&min_price=10&max_price=5`)).body).toEqual([]);
  });

  test('a 20,000-character query is refused before the app by Node (431, its header limit)', async () => {
    const r = await call(p.baseUrl, 'GET', `/search?query=${'a'.repeat(20_000)}`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });

  test('query DSL, Lucene syntax or a Mongo operator as query text is just words', async () => {
    for (const text of ['{"match_all":{}}', '*', `${word} OR *:*`, 'name:* AND stock:0', '{"$gt":""}', `${word}\\"`]) {
      const r = await search(`query=${encodeURIComponent(text)}&${inCat()}`);
      expect(r.body.every((h: { item_id: string }) => h.item_id !== ids.d)).toBe(true);
      if (!text.includes(word)) expect(r.body).toEqual([]);
    }
  });
});
