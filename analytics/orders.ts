/**
 * Order events (shopflow.orders, published by the saga) become analytics events: order.placed -> order_placed,
 * order.canceled -> order_canceled, in the analytics schema with each line's category. The id is derived from
 * the source event's id, so translating a redelivered order event twice yields the same analytics event (and
 * the consumer's dedupe drops the second). The saga's own events are never changed.
 */
import type { Knex } from 'knex';
import { parseWith } from '../events/envelope';
import { OrderEvent } from '../events/orders';
import type { AnalyticsEvent, OrderLineFact } from './model';

const TRANSLATED: Record<string, AnalyticsEvent['event_type']> = {
  'order.placed': 'order_placed',
  'order.canceled': 'order_canceled',
};

export const translatedEventId = (sourceEventId: string): string => `order-analytics-${sourceEventId}`;

/** The order event's fields (contract: events/orders.ts), if it is one this module translates and it has 1 to
 * 200 lines. */
export function readOrderEvent(value: Buffer | string | null):
  | {
      eventId: string;
      type: AnalyticsEvent['event_type'];
      at: string;
      orderId: string;
      userId: string;
      lines: { item_id: string; quantity: number; price: number }[];
      total: number;
    }
  | undefined {
  const ev = parseWith(OrderEvent, value);
  const type = ev ? TRANSLATED[ev.type] : undefined;
  if (!ev || !type) return undefined;
  const d = ev.data;
  if (d.items.length === 0 || d.items.length > 200) return undefined;
  const lines = d.items.map((l) => ({ item_id: l.item_id, quantity: l.quantity, price: l.price }));
  return {
    eventId: ev.event_id,
    type,
    at: ev.occurred_at,
    orderId: d.order_id,
    userId: d.user_id,
    lines,
    total: d.total_price ?? 0,
  };
}

/** Item categories from the catalog (MySQL), cached briefly in memory: a category rarely changes. */
export class CategoryLookup {
  private readonly cache = new Map<string, { category: string; at: number }>();
  constructor(
    private readonly mysql: Knex,
    private readonly ttlMs = 60_000,
    private readonly max = 100_000,
  ) {}

  async get(itemIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const now = Date.now();
    const missing: string[] = [];
    for (const id of new Set(itemIds)) {
      const c = this.cache.get(id);
      if (c && now - c.at < this.ttlMs) out.set(id, c.category);
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 500) {
      const rows: { item_id: string; category: string }[] = await this.mysql('items')
        .select('item_id', 'category')
        .whereIn('item_id', missing.slice(i, i + 500));
      for (const r of rows) {
        out.set(r.item_id, r.category);
        if (this.cache.size >= this.max) this.cache.clear();
        this.cache.set(r.item_id, { category: r.category, at: now });
      }
    }
    return out;
  }
}

/**
 * Translates a batch of order event messages. Orders none of whose items are in this catalog belong to another
 * environment sharing the topic (e.g. tests beside a dev stack) and are skipped, like the search indexer does.
 */
export async function translateOrderEvents(
  values: (Buffer | null)[],
  categories: CategoryLookup,
): Promise<AnalyticsEvent[]> {
  const orders = values.map((v) => readOrderEvent(v)).filter((o): o is NonNullable<typeof o> => o !== undefined);
  if (orders.length === 0) return [];
  const cats = await categories.get(orders.flatMap((o) => o.lines.map((l) => l.item_id)));
  const out: AnalyticsEvent[] = [];
  for (const o of orders) {
    if (!o.lines.some((l) => cats.has(l.item_id))) continue;
    const lines: OrderLineFact[] = o.lines.map((l) => ({ ...l, category: cats.get(l.item_id) ?? null }));
    out.push({
      event_id: translatedEventId(o.eventId),
      event_type: o.type,
      user_id: o.userId,
      search_query: '',
      timestamp: o.at,
      clicked_items: [],
      item_ids: lines.map((l) => l.item_id),
      categories: lines.map((l) => l.category),
      order_id: o.orderId,
      lines,
      total_price: o.total,
      source_event_id: o.eventId,
    });
  }
  return out;
}
