/** Catalog events on shopflow.items, keyed by item id; `version` is the item row's version after the change. */
import { z } from 'zod';
import { TOPICS } from '../stores/kafka/topics';
import { envelopeOf, EventContract, messageOf } from './envelope';

const ItemRef = {
  item_id: z.string().min(1).max(50),
  version: z.number().int(),
  supplier_id: z.string().max(50).nullable(),
};
/** Version 1: an item was created or changed. */
export const ItemUpsertedData = z.object({
  ...ItemRef,
  price: z.number().nonnegative(),
  stock: z.number().int().nonnegative(),
});
/** Version 1: an item was deleted (the indexer removes its document once MySQL has no row for it). */
export const ItemDeletedData = z.object(ItemRef);

const upserted: EventContract<'item.upserted', typeof ItemUpsertedData> = {
  type: 'item.upserted',
  version: 1,
  topic: TOPICS.items.name,
  data: ItemUpsertedData,
};
const deleted: EventContract<'item.deleted', typeof ItemDeletedData> = {
  type: 'item.deleted',
  version: 1,
  topic: TOPICS.items.name,
  data: ItemDeletedData,
};
export const ItemUpserted = envelopeOf(upserted);
export const ItemDeleted = envelopeOf(deleted);

export const itemUpsertedMessage = (r: {
  item_id: string;
  version: number;
  supplier_id: string | null;
  price: number;
  stock: number;
}) =>
  messageOf(upserted, r.item_id, {
    item_id: r.item_id,
    version: Number(r.version),
    supplier_id: r.supplier_id,
    price: Number(r.price),
    stock: Number(r.stock),
  });
export const itemDeletedMessage = (r: { item_id: string; version: number; supplier_id: string | null }) =>
  messageOf(deleted, r.item_id, { item_id: r.item_id, version: Number(r.version), supplier_id: r.supplier_id });
