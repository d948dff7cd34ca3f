/**
 * The shared query builder on its own (no servers), and the Elasticsearch adapter against a stand-in HTTP
 * server: it must send exactly the builder's body, as the OpenSearch adapter does (the real OpenSearch is
 * exercised in search.test.ts; the native stack has no Elasticsearch).
 */
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSearchBody, parseFilter, SearchInputError, searchItems, SearchQuery } from '../../search/query';
import { ElasticsearchAdapter } from '../../stores/search/elasticsearch';
import { itemIdOf } from '../../events/item-events';

const base: SearchQuery = { sort: 'relevance', categories: [], attributes: {}, limit: 20, offset: 0 };
const filters = (b: Record<string, any>) => b.query.bool.filter as Record<string, unknown>[];

describe('parseFilter', () => {
  test('category and attributes, repeated keys OR-ed', () => {
    expect(parseFilter('category:Electronics,brand:Sony,brand:LG,screen size:65 inches')).toEqual({
      categories: ['Electronics'],
      attributes: { brand: ['Sony', 'LG'], 'screen size': ['65 inches'] },
    });
    expect(parseFilter(undefined)).toEqual({ categories: [], attributes: {} });
    expect(parseFilter('url:http://x')).toEqual({ categories: [], attributes: { url: ['http://x'] } });
  });
  test.each([
    'price:5',
    'stock:0',
    'in_stock:false',
    '_id:x',
    '$where:1',
    'a.b:c',
    '*:x',
    'brand',
    'brand:',
    ':x',
    '__proto__:x',
  ])('refuses %s', (f) => {
    expect(() => parseFilter(f)).toThrow(SearchInputError);
  });
  test('refuses a 300-character value, a control character and more than 10 filters', () => {
    expect(() => parseFilter(`brand:${'x'.repeat(300)}`)).toThrow(SearchInputError);
    expect(() => parseFilter('brand:x\u0000')).toThrow(SearchInputError);
    expect(() => parseFilter(Array.from({ length: 11 }, (_, i) => `k${i}:v`).join(','))).toThrow(SearchInputError);
  });
});

describe('buildSearchBody', () => {
  test('every query hides out-of-stock items; user text only as a multi_match query string', () => {
    const b = buildSearchBody({ ...base, text: '{"match_all":{}} OR *:*' }) as Record<string, any>;
    expect(filters(b)).toEqual(expect.arrayContaining([{ term: { in_stock: true } }, { range: { stock: { gt: 0 } } }]));
    expect(b.query.bool.must[0].multi_match.query).toBe('{"match_all":{}} OR *:*');
    expect(JSON.stringify(b)).not.toContain('query_string');
    expect(filters(buildSearchBody(base) as Record<string, any>)).toHaveLength(2);
  });
  test('sorts, filters and paging', () => {
    const b = buildSearchBody({
      ...base,
      sort: '-price',
      categories: ['TV'],
      attributes: { brand: ['Sony'] },
      minPrice: 10,
      maxPrice: 20,
      limit: 5,
      offset: 10,
    }) as Record<string, any>;
    expect(b.sort).toEqual([{ price: { order: 'desc' } }, { item_id: { order: 'asc' } }]);
    expect(filters(b)).toEqual(
      expect.arrayContaining([
        { terms: { category: ['TV'] } },
        { terms: { 'attributes.brand': ['Sony'] } },
        { range: { price: { gte: 10, lte: 20 } } },
      ]),
    );
    expect([b.from, b.size]).toEqual([10, 5]);
  });
  test('no caller can skip the caps', () => {
    expect(() => buildSearchBody({ ...base, limit: 101 })).toThrow(SearchInputError);
    expect(() => buildSearchBody({ ...base, offset: 9_990, limit: 20 })).toThrow(SearchInputError);
    expect(() => buildSearchBody({ ...base, text: 'x'.repeat(201) })).toThrow(SearchInputError);
    expect(() => buildSearchBody({ ...base, attributes: { price: ['1'] } })).toThrow(SearchInputError);
    expect(() => buildSearchBody({ ...base, sort: 'name' as never })).toThrow(SearchInputError);
  });
});

describe('the Elasticsearch adapter shares the builder', () => {
  let server: Server;
  let seen: { path: string; body: unknown }[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        seen.push({
          path: req.url ?? '',
          body: data ? (req.url?.includes('_bulk') ? data : JSON.parse(data)) : undefined,
        });
        res.setHeader('x-elastic-product', 'Elasticsearch');
        res.setHeader('content-type', 'application/json');
        if (req.url?.includes('_bulk')) {
          res.end(
            JSON.stringify({
              errors: true,
              items: [
                { index: { _id: 'a', status: 201 } },
                { index: { _id: 'b', status: 409, error: { type: 'version_conflict_engine_exception' } } },
              ],
            }),
          );
        } else {
          res.end(
            JSON.stringify({
              took: 1,
              timed_out: false,
              hits: {
                total: { value: 1, relation: 'eq' },
                hits: [
                  {
                    _id: 'a',
                    _source: {
                      item_id: 'a',
                      name: 'A',
                      price: 1.5,
                      category: 'C',
                      supplier_id: null,
                      attributes: { brand: 'X' },
                    },
                  },
                ],
              },
            }),
          );
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('search sends the builder body and maps the hits', async () => {
    seen = [];
    const es = new ElasticsearchAdapter(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'items_x');
    const q: SearchQuery = {
      ...base,
      text: 'tv',
      sort: 'price',
      categories: ['Electronics'],
      attributes: { brand: ['Sony'] },
    };
    const r = await searchItems(es, q);
    expect(r).toEqual({
      total: 1,
      totalIsExact: true,
      hits: [
        {
          item_id: 'a',
          name: 'A',
          price: 1.5,
          category: 'C',
          supplier_id: null,
          attributes: { brand: 'X' },
          images: [],
        },
      ],
    });
    expect(seen[0]!.path).toContain('/items_x/_search');
    expect(seen[0]!.body).toEqual(buildSearchBody(q));
    const doc = {
      item_id: 'a',
      supplier_id: null,
      name: 'A',
      description: null,
      category: 'C',
      price: 1,
      stock: 1,
      in_stock: true,
      attributes: {},
      updated_at: new Date(0).toISOString(),
    };
    expect(
      await es.bulkUpsert([
        { doc, version: 3 },
        { doc: { ...doc, item_id: 'b' }, version: 1 },
      ]),
    ).toEqual({ indexed: 1, stale: 1, failed: [] });
    expect(String(seen[1]!.body).split('\n')[0]).toBe(
      JSON.stringify({ index: { _index: 'items_x', _id: 'a', version: 3, version_type: 'external_gte' } }),
    );
    await es.close();
  });
});

describe('the indexer reads item ids from events defensively', () => {
  const ev = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  test('outbox envelopes, with the key as fallback; anything else is skipped', () => {
    expect(
      itemIdOf(ev({ event_id: 'e', type: 'stock.changed', data: { item_id: 'it-1', stock: 0 } }), ev('it-1')),
    ).toBe('it-1');
    expect(itemIdOf(ev('not json'), ev('it-2'))).toBe('it-2');
    expect(itemIdOf(ev({ data: { item_id: { $gt: '' } } }), null)).toBeUndefined();
    expect(itemIdOf(ev({ data: { item_id: 'x'.repeat(51) } }), null)).toBeUndefined();
    expect(itemIdOf(null, null)).toBeUndefined();
  });
});
