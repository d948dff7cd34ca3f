/** What one analytics event adds to the real-time reports (minute buckets), as ops for the exactly-once applier. */
import { AnalyticsEvent, minuteOf, normalizeQuery, toCents } from './model';
import { FunnelStage, ReportKeys } from './keys';
import type { Op } from '../stores/redis/exactly-once';

const STAGE: Partial<Record<AnalyticsEvent['event_type'], FunnelStage>> = {
  item_view: 'view',
  cart_add: 'cart',
  wishlist_add: 'wishlist',
  order_placed: 'order',
};

export function reportOps(e: AnalyticsEvent, keys: ReportKeys, ttl: number): Op[] {
  const m = minuteOf(Date.parse(e.timestamp));
  const ops: Op[] = [{ kind: 'hincr', key: keys.events(m), member: e.event_type, amount: 1, ttl }];

  if (e.event_type === 'search') {
    const q = normalizeQuery(e.search_query);
    if (q) {
      ops.push({ kind: 'zincr', key: keys.queries(m), member: q, amount: 1, ttl });
      if (e.result_count === 0) ops.push({ kind: 'zincr', key: keys.zeroResultQueries(m), member: q, amount: 1, ttl });
    }
  }

  if (e.event_type === 'order_placed' || e.event_type === 'order_canceled') {
    const [u, r] = e.event_type === 'order_placed' ? (['units', 'rev'] as const) : (['cunits', 'crev'] as const);
    for (const l of e.lines ?? []) {
      const cents = toCents(l.price) * l.quantity;
      ops.push({ kind: 'zincr', key: keys.itemSales(m, u), member: l.item_id, amount: l.quantity, ttl });
      ops.push({ kind: 'zincr', key: keys.itemSales(m, r), member: l.item_id, amount: cents, ttl });
      if (l.category !== null) {
        ops.push({ kind: 'zincr', key: keys.categorySales(m, u), member: l.category, amount: l.quantity, ttl });
        ops.push({ kind: 'zincr', key: keys.categorySales(m, r), member: l.category, amount: cents, ttl });
      }
    }
  }

  const stage = STAGE[e.event_type];
  if (stage) {
    // One funnel step per event overall, and once per category the event touches (an order of two items of
    // one category is one order of that category).
    const cats = new Set(
      (e.categories ?? e.lines?.map((l) => l.category) ?? []).filter((c): c is string => typeof c === 'string'),
    );
    ops.push({ kind: 'hincr', key: keys.funnel(m), member: stage, amount: 1, ttl });
    if (e.user_id) ops.push({ kind: 'pfadd', key: keys.funnelUsers(m, stage), member: e.user_id, ttl });
    for (const c of cats) {
      ops.push({ kind: 'hincr', key: keys.funnel(m, c), member: stage, amount: 1, ttl });
      if (e.user_id) ops.push({ kind: 'pfadd', key: keys.funnelUsers(m, stage, c), member: e.user_id, ttl });
    }
  }
  return ops;
}
