/**
 * Reserving an order: one MySQL transaction inserts the order, takes every line's stock (all or none), prices
 * the lines from the catalog and writes `order.created` to the outbox. Idempotent by order id: run again, or
 * twice at once, it returns the order already reserved. The API runs it before starting the saga (so a buyer
 * refused for stock never costs a workflow), and the saga's first activity runs it again as a read.
 */
import type { Knex } from 'knex';
import { isDuplicateKey, isLockConflict } from '../stores/mysql/client';
import type { OrderInput, ReservationResult, Shortage } from './model';
import { normalizeLines, stockLevels, takeStockAndCommit, visibleShortages } from '../stock/levels';
import { stockChangedMessage } from '../events/stock';
import { enqueue } from '../outbox/outbox';
import { loadNewOrder, loadOrder, orderEvent } from './repository';
import type { ShippingAddress } from '../users/addresses';

/** The saga's input carries no address (the API stores it at reservation; the saga's re-run only reads). */
export type ReservationInput = Pick<OrderInput, 'orderId' | 'userId' | 'lines' | 'paymentMethod'> & {
  expiresAt: string;
  shippingAddress?: ShippingAddress;
};

export class OutOfStock extends Error {
  constructor(readonly shortages: Shortage[]) {
    super('out of stock');
  }
}
export class InvalidOrder extends Error {}

/** Runs a transaction again when MySQL gave up on a lock (it rolled everything back). */
export async function withLockRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isLockConflict(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 10 * i + Math.random() * 20));
    }
  }
}

const cents = (n: number) => Math.round(n * 100);

export interface ReserveOptions {
  /** The caller made this order id just now and already found the stock visibly sufficient (the API's hot
   * path): skip the look-up of an earlier reservation and the lock-free stock check. */
  fresh?: boolean;
}

export async function reserveOrder(
  mysql: Knex,
  input: ReservationInput,
  opts: ReserveOptions = {},
): Promise<ReservationResult> {
  const { orderId } = input;
  const lines = normalizeLines(input.lines);
  if (!opts.fresh) {
    const already = await loadOrder(mysql, orderId);
    if (already) return { ok: true, order: already };
    // A lock-free look first: when the stock is visibly short, refuse without queueing for the row locks (the
    // flash sale's losers). The locked, conditional UPDATE below stays the decision for everyone else.
    const visiblyShort = visibleShortages(lines, await stockLevels(mysql, lines));
    if (visiblyShort.length > 0) return { ok: false, shortages: visiblyShort };
  }
  try {
    return await withLockRetry(() =>
      mysql.transaction(
        async (trx) => {
          // The order row first: its primary key makes a concurrent second attempt wait here, then fail.
          const ids = lines.map((l) => l.item_id);
          const prices = new Map<string, number>(
            (await trx('items').select('item_id', 'price').whereIn('item_id', ids)).map(
              (r: { item_id: string; price: number }) => [r.item_id, Number(r.price)],
            ),
          );
          const total = lines.reduce((sum, l) => sum + cents(prices.get(l.item_id) ?? 0) * l.quantity, 0) / 100;
          await trx('orders').insert({
            order_id: orderId,
            user_id: input.userId,
            status: 'created',
            total_price: total,
            payment_method: input.paymentMethod,
            payment_status: 'pending',
            expires_at: new Date(input.expiresAt),
            shipping_address: input.shippingAddress ? JSON.stringify(input.shippingAddress) : null,
          });
          await trx('order_items').insert(
            lines.map((l, i) => ({
              order_item_id: `${orderId}-${i + 1}`,
              order_id: orderId,
              item_id: l.item_id,
              quantity: l.quantity,
              price: prices.get(l.item_id) ?? 0,
            })),
          );
          await trx('order_status_history').insert({ order_id: orderId, status: 'created' });
          const order = (await loadNewOrder(trx, orderId))!;
          // The order's event and the stock's in one INSERT, in that order.
          await enqueue(trx, [
            orderEvent('order.created', order),
            ...lines.map((l) => stockChangedMessage({ item_id: l.item_id, delta: -l.quantity, cause: 'reserved' })),
          ]);
          // Last, the hot rows, with the commit in the same round trip: their locks are held only inside the
          // server (nothing else in this transaction touches an item row, see migration 003), so buyers of one
          // item queue behind a short step. knex's own COMMIT after it finds nothing left to commit.
          const shortages = await takeStockAndCommit(trx, lines);
          if (shortages.length > 0) throw new OutOfStock(shortages);
          return { ok: true as const, order };
          // READ COMMITTED: an UPDATE whose `stock >= ?` fails on the last committed row skips it without
          // waiting for its lock (InnoDB's semi-consistent read), so refused buyers do not queue behind winners.
        },
        { isolationLevel: 'read committed' },
      ),
    );
  } catch (err) {
    if (err instanceof OutOfStock) return { ok: false, shortages: err.shortages };
    if (isDuplicateKey(err)) {
      const existing = await loadOrder(mysql, orderId);
      if (existing) return { ok: true, order: existing };
    }
    if ((err as { code?: string }).code === 'ER_NO_REFERENCED_ROW_2')
      throw new InvalidOrder(`unknown user or item in order ${orderId}`);
    throw err;
  }
}
