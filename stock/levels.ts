/**
 * Stock (`items.stock`) in MySQL, the authority; this folder is the only code that changes it (reservations,
 * releases, restocks), with the sold-out gate (./soldout-gate.ts) and the admission tickets (./tickets.ts) in
 * front of it. A new item's first level is its catalog row's insert (catalog/service.ts): no order holds it yet.
 * Every change is a conditional UPDATE done by the database
 * (`stock = stock - ? WHERE stock >= ?`), never a read-modify-write in code, and rows are always touched in
 * item_id order, so two multi-item orders crossing each other's items cannot deadlock.
 */
import type { Knex } from 'knex';
import { stockChangedMessage } from '../events/stock';
import { enqueue } from '../outbox/outbox';
import type { StockLine as OrderLine, Shortage } from './model';
import { itemsStock, readStock } from './table';

/** Sums repeated items and sorts by item_id: the fixed lock order. */
export function normalizeLines(lines: OrderLine[]): OrderLine[] {
  const byItem = new Map<string, number>();
  for (const l of lines) byItem.set(l.item_id, (byItem.get(l.item_id) ?? 0) + l.quantity);
  return [...byItem]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([item_id, quantity]) => ({ item_id, quantity }));
}

/** Takes every line's quantity out of stock, or none: returns the lines that were short (the caller then
 * rolls back). For steps that write more after it (a late payment placed again); a reservation, whose last step
 * it is, uses takeStockAndCommit. */
export function takeStock(trx: Knex.Transaction, lines: OrderLine[]): Promise<Shortage[]> {
  return callTakeStock(trx, lines, false);
}

/**
 * takeStock as a transaction's last statement, with its COMMIT in the same round trip when every line was taken:
 * the hot item rows stay locked only inside the server, never while the answer waits for this process's event
 * loop. Returns the lines that were short; then nothing was committed and the caller rolls back. After an empty
 * answer the transaction is already committed: nothing may follow it.
 */
export function takeStockAndCommit(trx: Knex.Transaction, lines: OrderLine[]): Promise<Shortage[]> {
  return callTakeStock(trx, lines, true);
}

/** Both, through the one procedure that holds the rule (migration 061's `take_stock`): one round trip. */
async function callTakeStock(trx: Knex.Transaction, lines: OrderLine[], commit: boolean): Promise<Shortage[]> {
  const sorted = normalizeLines(lines);
  const [results] = await trx.raw('CALL take_stock(?, ?)', [JSON.stringify(sorted), commit]);
  const [row] = (results as [{ short_items: string | null }[]])[0];
  const shortIds = new Set<string>(row?.short_items ? (JSON.parse(row.short_items) as string[]) : []);
  if (shortIds.size === 0) return [];
  return shortagesOf(
    trx,
    sorted.filter((l) => shortIds.has(l.item_id)),
  );
}

/** What is left of the short lines' items (0 for a delisted one), read in the caller's transaction. */
async function shortagesOf(trx: Knex.Transaction, short: OrderLine[]): Promise<Shortage[]> {
  const rows = await readStock(
    trx,
    short.map((l) => l.item_id),
  );
  const available = new Map(rows.map((r) => [r.item_id, r.listed ? r.stock : 0]));
  return short.map((l) => ({ item_id: l.item_id, requested: l.quantity, available: available.get(l.item_id) ?? 0 }));
}

/** Puts the lines' quantities back. */
export async function returnStock(trx: Knex.Transaction, lines: OrderLine[]): Promise<void> {
  for (const line of normalizeLines(lines)) {
    await trx.raw('UPDATE items SET stock = stock + ?, updated_at = NOW(3) WHERE item_id = ?', [
      line.quantity,
      line.item_id,
    ]);
  }
}

/** Publishes the items' new stock levels (search sync hides sold-out items, shows restocked ones). */
export async function enqueueStockChanged(
  trx: Knex.Transaction,
  itemIds: string[],
  cause: 'reserved' | 'released',
): Promise<void> {
  const rows = await readStock(trx, itemIds);
  await enqueue(
    trx,
    rows.map((r) => stockChangedMessage({ item_id: r.item_id, stock: r.stock, cause })),
  );
}

/**
 * Units of each item held by orders not yet shipped (`created`: reserved, awaiting payment; `placed`: paid,
 * still on the shelf). A seller's restock gives the units on hand; what is left to sell is on hand minus these.
 * Call it under the item rows' locks (FOR UPDATE in the caller's transaction) as the transaction's first plain
 * read, so its snapshot is taken after the lock: a reservation still in flight is not counted here but takes its
 * units from the new level itself, and a release in flight is counted here and gives its units back to the new
 * level (both need the item row, which waits for us); either way nothing is counted twice.
 */
export async function heldUnits(trx: Knex.Transaction, itemIds: string[]): Promise<Map<string, number>> {
  if (itemIds.length === 0) return new Map();
  const rows: { item_id: string; held: number | string }[] = await trx('order_items as i')
    .join('orders as o', 'o.order_id', 'i.order_id')
    .whereIn('i.item_id', itemIds)
    .whereIn('o.status', ['created', 'placed'])
    .groupBy('i.item_id')
    .select('i.item_id')
    .sum({ held: 'i.quantity' });
  return new Map(rows.map((r) => [r.item_id, Number(r.held)]));
}

/** What is left to sell when `onHand` units are on the shelf and `held` of them are promised to orders. */
export const availableFrom = (onHand: number, held: number): number => Math.max(0, onHand - held);

/**
 * A seller's restock: `onHand` units are on the shelf. Writes each item row once, with the catalog's other
 * changes of that row (`set`: one UPDATE, so the version trigger counts one change), and the stock left to sell
 * when a count is given: on hand less what orders hold. Call it with the rows locked (FOR UPDATE), as
 * `heldUnits` requires.
 */
export async function writeRestocks(
  trx: Knex.Transaction,
  rows: { item_id: string; set: Record<string, unknown>; onHand?: number }[],
): Promise<void> {
  const held = await heldUnits(
    trx,
    rows.filter((r) => r.onHand !== undefined).map((r) => r.item_id),
  );
  for (const r of rows) {
    const set = r.onHand === undefined ? r.set : { ...r.set, stock: availableFrom(r.onHand, held.get(r.item_id) ?? 0) };
    await itemsStock(trx).where({ item_id: r.item_id }).update(set);
  }
}

/** Like stockLevels, and which of the items are delisted (one read: the order API's hot path). */
export async function orderableStock(
  mysql: Knex,
  lines: { item_id: string }[],
): Promise<{ stock: Map<string, number>; unlisted: string[] }> {
  const rows: { item_id: string; stock: number; listed: number }[] = await itemsStock(mysql)
    .select('item_id', 'stock', 'listed')
    .whereIn(
      'item_id',
      lines.map((l) => l.item_id),
    );
  return {
    stock: new Map(rows.map((r) => [r.item_id, Number(r.stock)])),
    unlisted: rows.filter((r) => !r.listed).map((r) => r.item_id),
  };
}

/** The committed stock of the lines' items right now (a plain, non-locking read); unknown items are absent. */
export async function stockLevels(mysql: Knex, lines: { item_id: string }[]): Promise<Map<string, number>> {
  const rows: { item_id: string; stock: number }[] = await itemsStock(mysql)
    .select('item_id', 'stock')
    .whereIn(
      'item_id',
      lines.map((l) => l.item_id),
    );
  return new Map(rows.map((r) => [r.item_id, Number(r.stock)]));
}

/** The lines that `stock` cannot cover. */
export function visibleShortages(
  lines: { item_id: string; quantity: number }[],
  stock: Map<string, number>,
): Shortage[] {
  return lines
    .filter((l) => (stock.get(l.item_id) ?? 0) < l.quantity)
    .map((l) => ({ item_id: l.item_id, requested: l.quantity, available: stock.get(l.item_id) ?? 0 }));
}
