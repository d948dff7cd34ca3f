/** Analytics and recommendations without servers: what each event adds to the reports and the model, the
 * order-event translation (deterministic ids, malformed input skipped), the event schema's guard, the raw log's
 * buckets and the export's arguments. */
import { parseAnalyticsEvent, AnalyticsEvent, normalizeQuery, minuteOf } from '../../analytics/model';
import { readOrderEvent, translateOrderEvents, translatedEventId, CategoryLookup } from '../../analytics/orders';
import { reportOps } from '../../analytics/effects';
import { ReportKeys } from '../../analytics/keys';
import { recsOps, DEFAULT_WEIGHTS } from '../../recommendations/effects';
import { RecsKeys } from '../../recommendations/keys';
import { bucketOf, DAY_BUCKETS } from '../../analytics/raw-store';
import { daysBetween, parseArgs } from '../../scripts/export-events';

const at = '2026-11-26T10:15:30.000Z';
const m = minuteOf(Date.parse(at));
const ev = (e: Partial<AnalyticsEvent> & Pick<AnalyticsEvent, 'event_type'>): AnalyticsEvent => ({
  event_id: 'e1',
  user_id: 'u1',
  search_query: '',
  timestamp: at,
  clicked_items: [],
  item_ids: [],
  ...e,
});
const rk = new ReportKeys('p:');
const ck = new RecsKeys('p:');
const recsOpts = { userTtl: 100, historyCap: 50, maxOrderItems: 3, weights: DEFAULT_WEIGHTS };

describe('reports', () => {
  test('an order placed: units and revenue in cents per item and category, one funnel order per category', () => {
    const ops = reportOps(
      ev({
        event_type: 'order_placed',
        lines: [
          { item_id: 'a', quantity: 2, price: 10.1, category: 'C' },
          { item_id: 'b', quantity: 1, price: 0.2, category: 'C' },
        ],
        item_ids: ['a', 'b'],
      }),
      rk,
      60,
    );
    expect(ops).toEqual(
      expect.arrayContaining([
        { kind: 'zincr', key: `p:m:${m}:units`, member: 'a', amount: 2, ttl: 60 },
        { kind: 'zincr', key: `p:m:${m}:rev`, member: 'a', amount: 2020, ttl: 60 },
        { kind: 'zincr', key: `p:m:${m}:cat:rev`, member: 'C', amount: 20, ttl: 60 },
        { kind: 'pfadd', key: `p:m:${m}:fu:order:c:C`, member: 'u1', ttl: 60 },
      ]),
    );
    expect(ops.filter((o) => o.key === `p:m:${m}:funnel:c:C`)).toHaveLength(1);
  });

  test('a search: the normalized query, and the zero-result list only when nothing matched', () => {
    const hit = reportOps(ev({ event_type: 'search', search_query: '  4K  TV ', result_count: 3 }), rk, 60);
    expect(hit).toContainEqual({ kind: 'zincr', key: `p:m:${m}:q`, member: '4k tv', amount: 1, ttl: 60 });
    expect(hit.some((o) => o.key === `p:m:${m}:qz`)).toBe(false);
    const miss = reportOps(ev({ event_type: 'search', search_query: 'nothing', result_count: 0 }), rk, 60);
    expect(miss).toContainEqual({ kind: 'zincr', key: `p:m:${m}:qz`, member: 'nothing', amount: 1, ttl: 60 });
    expect(normalizeQuery('A'.repeat(500))).toHaveLength(200);
  });

  test('an anonymous view counts in the funnel but adds no user', () => {
    const ops = reportOps(ev({ event_type: 'item_view', user_id: null, item_ids: ['a'], categories: ['C'] }), rk, 60);
    expect(ops.filter((o) => o.kind === 'hincr' && o.member === 'view')).toHaveLength(2);
    expect(ops.some((o) => o.kind === 'pfadd')).toBe(false);
  });
});

describe('recommendation model', () => {
  test('an order pairs its items (capped), pairs them with earlier purchases, then records them', () => {
    const ops = recsOps(
      ev({
        event_type: 'order_placed',
        lines: ['a', 'b', 'c', 'd'].map((id) => ({ item_id: id, quantity: 1, price: 1, category: 'C' })),
        item_ids: [],
      }),
      ck,
      recsOpts,
    );
    expect(ops.filter((o) => o.kind === 'co')).toHaveLength(3); // a-b, a-c, b-c (maxOrderItems 3)
    const kinds = ops.map((o) => o.kind);
    expect(kinds.indexOf('cross')).toBeLessThan(kinds.indexOf('zmax'));
    expect(ops.filter((o) => o.kind === 'zincr' && o.key === ck.popular())).toHaveLength(4);
  });

  test('clicks pair within one query of one user; anonymous clicks change nothing', () => {
    const ops = recsOps(
      ev({ event_type: 'search_click', search_query: 'Lamp', clicked_items: ['x'], item_ids: ['x'] }),
      ck,
      recsOpts,
    );
    expect(ops[0]).toMatchObject({ kind: 'crossv', key: ck.queryClicks('u1', 'lamp'), member: 'x' });
    expect(
      recsOps(
        ev({ event_type: 'search_click', user_id: null, search_query: 'Lamp', clicked_items: ['x'] }),
        ck,
        recsOpts,
      ),
    ).toEqual([]);
  });
});

describe('order events to analytics events', () => {
  const orderEvent = (type: string, items: unknown = [{ item_id: 'a', quantity: 2, price: 5 }]) =>
    Buffer.from(
      JSON.stringify({
        event_id: 'src-1',
        type,
        occurred_at: at,
        data: { order_id: 'o1', user_id: 'u1', items, total_price: 10 },
      }),
    );
  const lookup = {
    get: async (ids: string[]) => new Map(ids.filter((i) => i !== 'foreign').map((i) => [i, 'C'])),
  } as unknown as CategoryLookup;

  test('placed and canceled are translated with a deterministic id; other types and malformed events are not', async () => {
    const out = await translateOrderEvents(
      [
        orderEvent('order.placed'),
        orderEvent('order.created'),
        orderEvent('order.canceled'),
        Buffer.from('{'),
        null,
        orderEvent('order.placed', [{ item_id: 'a', quantity: -1, price: 5 }]),
      ],
      lookup,
    );
    expect(out.map((e) => e.event_type)).toEqual(['order_placed', 'order_canceled']);
    expect(out[0]).toMatchObject({
      event_id: translatedEventId('src-1'),
      source_event_id: 'src-1',
      order_id: 'o1',
      lines: [{ item_id: 'a', quantity: 2, price: 5, category: 'C' }],
      timestamp: at,
    });
    expect(parseAnalyticsEvent(JSON.stringify(out[0]))).toEqual(out[0]);
  });

  test("an order of another environment's items is skipped", async () => {
    expect(
      await translateOrderEvents([orderEvent('order.placed', [{ item_id: 'foreign', quantity: 1, price: 1 }])], lookup),
    ).toEqual([]);
    expect(readOrderEvent(orderEvent('order.placed', 'nope'))).toBeUndefined();
  });

  test('the consumer refuses what is not an analytics event', () => {
    expect(
      parseAnalyticsEvent(JSON.stringify({ event_id: 'x', event_type: 'hack', timestamp: at, user_id: null })),
    ).toBeUndefined();
    expect(
      parseAnalyticsEvent(
        JSON.stringify({ event_id: 'x', event_type: 'search', timestamp: 'yesterday', user_id: null }),
      ),
    ).toBeUndefined();
    expect(
      parseAnalyticsEvent(
        JSON.stringify({ event_id: 'x', event_type: 'item_view', timestamp: at, user_id: { $ne: 1 } }),
      ),
    ).toBeUndefined();
    expect(parseAnalyticsEvent('not json')).toBeUndefined();
  });
});

describe('raw log and export', () => {
  test('buckets are stable and spread', () => {
    expect(bucketOf('abc')).toBe(bucketOf('abc'));
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => bucketOf(`e-${i}`)));
    expect(seen.size).toBe(DAY_BUCKETS);
  });

  test('export arguments: a day range, checked', () => {
    expect(parseArgs(['--from', '2026-11-01', '--to', '2026-11-03', '--out', 'x'])).toEqual({
      from: '2026-11-01',
      to: '2026-11-03',
      out: 'x',
    });
    expect(daysBetween('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(() => parseArgs(['--from', '2026-11-03', '--to', '2026-11-01'])).toThrow(/after/);
    expect(() => parseArgs(['--from', 'yesterday'])).toThrow(/not a day/);
  });
});
