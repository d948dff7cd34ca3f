/**
 * The events that name one item: `item.upserted`, `item.deleted` (events/items.ts) and `stock.changed`
 * (events/stock.ts). What the search indexer and the item cache follow.
 */
import { z } from 'zod';
import { parseWith } from './envelope';
import { ItemDeleted, ItemUpserted } from './items';
import { StockChanged } from './stock';

export const ItemEvent = z.union([ItemUpserted, ItemDeleted, StockChanged]);

/** The item an event names; for anything that is not one of its events, the message key (if it can be an id). */
export function itemIdOf(value: Buffer | null, key: Buffer | null): string | undefined {
  const ev = parseWith(ItemEvent, value);
  if (ev) return ev.data.item_id;
  const k = key?.toString();
  return k && k.length <= 50 ? k : undefined;
}
