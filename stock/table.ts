/** The stock columns of MySQL's `items` rows. Only the stock module imports this (.dependency-cruiser.cjs
 * `stock-table-owned-by-stock`): every change of `items.stock` is made in stock/. */
import type { Knex } from 'knex';

export const itemsStock = (db: Knex | Knex.Transaction) => db('items');

/** The committed stock (and listing) of these items; unknown items are absent. */
export async function readStock(
  db: Knex | Knex.Transaction,
  itemIds: string[],
): Promise<{ item_id: string; stock: number; listed: boolean }[]> {
  if (itemIds.length === 0) return [];
  const rows: { item_id: string; stock: number; listed: number }[] = await itemsStock(db)
    .select('item_id', 'stock', 'listed')
    .whereIn('item_id', itemIds)
    .orderBy('item_id');
  return rows.map((r) => ({ item_id: r.item_id, stock: Number(r.stock), listed: Boolean(r.listed) }));
}
