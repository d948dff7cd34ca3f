/** The catalog's events (contracts in events/), written to the transactional outbox in the same transaction as
 * the change they report. */
import { itemDeletedMessage, itemUpsertedMessage } from '../events/items';
import { stockChangedMessage } from '../events/stock';
import type { OutboxMessage } from '../events/envelope';
export { enqueue as enqueueEvents } from '../outbox/outbox';

export type PendingEvent = OutboxMessage;

/** `item.upserted` on shopflow.items, keyed by item id; `version` is the row's version after the change. */
export const itemUpserted = itemUpsertedMessage;

/** `item.deleted` on shopflow.items: the indexer removes the document once MySQL has no row for it. */
export const itemDeleted = itemDeletedMessage;

/** `stock.changed` on shopflow.inventory for a seller's restock: the level left to sell after it. */
export function stockChanged(r: { item_id: string; stock: number; version: number }, cause: 'restock'): PendingEvent {
  return stockChangedMessage({ item_id: r.item_id, stock: Number(r.stock), version: Number(r.version), cause });
}
