/** `stock.changed` on shopflow.inventory, keyed by item id: an item's stock moved (search hides sold-out items
 * and shows restocked ones). */
import { z } from 'zod';
import { TOPICS } from '../stores/kafka/topics';
import { envelopeOf, EventContract, messageOf } from './envelope';

export const STOCK_CAUSES = ['reserved', 'released', 'restock'] as const;

/** Version 1. `stock` is the level after the change where the producer read it (releases, restocks); a
 * reservation reports its `delta` instead, because it writes the event before taking the hot item row's lock
 * and does not read the row again while holding it (stock/reserve.ts). `version` is the item row's version. */
export const StockChangedData = z.object({
  item_id: z.string().min(1).max(50),
  cause: z.enum(STOCK_CAUSES),
  stock: z.number().int().nonnegative().optional(),
  delta: z.number().int().optional(),
  version: z.number().int().optional(),
});

const StockChangedContract: EventContract<'stock.changed', typeof StockChangedData> = {
  type: 'stock.changed',
  version: 1,
  topic: TOPICS.inventory.name,
  data: StockChangedData,
};
export const StockChanged = envelopeOf(StockChangedContract);
export type StockChanged = z.infer<typeof StockChanged>;

export const stockChangedMessage = (data: z.input<typeof StockChangedData>) =>
  messageOf(StockChangedContract, data.item_id, data);
