/**
 * Order events (shopflow.orders, published by the saga) become analytics events: order.placed -> order_placed,
 * order.canceled -> order_canceled, in the analytics schema with each line's category. The id is derived from
 * the source event's id, so translating a redelivered order event twice yields the same analytics event (and
 * the consumer's dedupe drops the second). The saga's own events are never changed.
 */
import type { Knex } from 'knex';
import type { AnalyticsEvent, OrderLineFact } from './model';

const TRANSLATED: Record<string, AnalyticsEvent['event_type']> = { 'order.placed': 'order_placed', 'order.canceled': 'order_canceled' };

export const translatedEventId = (sourceEventId: string): string => `order-analytics-${sourceEventId}`;

interface OrderEventShape {
  event_id?: unknown;
  type?: unknown;
  occurred_at?: unknown;
  data?: { order_id?: unknown; user_id?: unknown; items?: unknown; total_price?: unknown };
}

/** The order event's fields, if it is one this module translates and it is well formed. */
export function readOrderEvent(value: Buffer | string | null): { eventId: string; type: AnalyticsEvent['event_type']; at: string; orderId: string; userId: string; lines: { item_id: string; quantity: number; price: number }[]; total: number } | undefined {
  if (!value) return undefined;
  let ev: OrderEventShape;
  try {
    ev = JSON.parse(value.toString()) as OrderEventShape;
  } catch {
    return undefined;
  }
  const type = typeof ev?.type === 'string' ? TRANSLATED[ev.type] : undefined;
  const d = ev?.data;
  if (!type || typeof ev.event_id !== 'string' || typeof ev.occurred_at !== 'string' || Number.isNaN(Date.parse(ev.occurred_at))) return undefined;
  if (!d || typeof d.order_id !== 'string' || typeof d.user_id !== 'string' || !Array.isArray(d.items)) return undefined;
  const lines = [];
  for (const l of d.items as { item_id?: unknown; quantity?: unknown; price?: unknown }[]) {
    if (typeof l?.item_id !== 'string' || typeof l.quantity !== 'number' || typeof l.price !== 'number') return undefined;
    if (l.item_id.length === 0 || l.item_id.length > 50 || !(l.quantity > 0) || !(l.price >= 0)) return undefined;
    lines.push({ item_id: l.item_id, quantity: l.quantity, price: l.price });
  }
  if (lines.length === 0 || lines.length > 200) return undefined;
  return { eventId: ev.event_id, type, at: ev.occurred_at, orderId: d.order_id, userId: d.user_id, lines, total: typeof d.total_price === 'number' ? d.total_price : 0 };
}

/** Item categories from the catalog (MySQL), cached briefly in memory: a category rarely changes. */
export class CategoryLookup {
  private readonly cache = new Map<string, { category: string; at: number }>();
  constructor(private readonly mysql: Knex, private readonly ttlMs = 60_000, private readonly max = 100_000) {}

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
      const rows: { item_id: string; category: string }[] = await this.mysql('items').select('item_id', 'category').whereIn('item_id', missing.slice(i, i + 500));
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
export async function translateOrderEvents(values: (Buffer | null)[], categories: CategoryLookup): Promise<AnalyticsEvent[]> {
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
