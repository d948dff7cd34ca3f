/**
 * The seed's Orders View: a user's orders, live (MySQL) and archived (Cassandra) together, newest first, in
 * cursor pages. Each page asks both stores for one more than it needs after the cursor, merges by
 * (created_at, order_id) descending, and drops the second copy of an order caught between the archive's copy
 * and its MySQL delete.
 */
import type { Knex } from 'knex';
import { invalid } from '../lib/errors';
import type { OrderStatus, OrderView } from './model';
import { loadOrder, OrderRecord } from './repository';
import { OrderArchive, OrderCursor } from './archive';
import { pastKey } from '../stores/mysql/keyset';
import { archiveUnavailable } from './history-unavailable';
import { logger } from '../lib/logger';

export interface OrdersPageQuery {
  status?: OrderStatus;
  limit: number;
  cursor?: string;
}

export interface OrdersPage {
  orders: OrderView[];
  next_cursor: string | null;
  /** The archive (Cassandra) did not answer: the page holds live orders only. */
  history_unavailable?: true;
}

/** An opaque cursor: the last order's (created_at, order_id), base64url. */
export const encodeCursor = (c: OrderCursor): string =>
  Buffer.from(JSON.stringify([c.at.toISOString(), c.id])).toString('base64url');

export function decodeCursor(cursor: string): OrderCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (typeof at !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(at))) throw new Error('bad');
    return { at: new Date(at), id };
  } catch {
    throw invalid('the cursor is not one this API gave out');
  }
}

/** Newest first: created_at descending, then order_id descending (the archive's clustering order). */
const newestFirst = (a: OrderView, b: OrderView) =>
  Date.parse(b.created_at) - Date.parse(a.created_at) ||
  (a.order_id < b.order_id ? 1 : a.order_id > b.order_id ? -1 : 0);

export async function listUserOrders(
  mysql: Knex,
  archive: OrderArchive,
  userId: string,
  query: OrdersPageQuery,
): Promise<OrdersPage> {
  const before = query.cursor ? decodeCursor(query.cursor) : undefined;
  // MySQL first, then the archive (see orders/archive.ts: an order moving meanwhile is never missed by both).
  const live = await liveOrders(mysql, userId, { ...query, before });
  let archived: { orders: OrderView[]; more: boolean };
  try {
    archived = await archive.pageByUser(userId, { before, status: query.status, limit: query.limit + 1 });
  } catch (err) {
    if (!archiveUnavailable(err)) throw err;
    // The buyer still sees what is live (what they most likely came for); the flag says the rest is missing.
    logger.warn({ err: (err as Error).message, userId }, 'order archive unavailable; answering with live orders only');
    const page = live.slice(0, query.limit);
    const last = page.at(-1);
    return {
      orders: page,
      next_cursor:
        live.length > query.limit && last ? encodeCursor({ at: new Date(last.created_at), id: last.order_id }) : null,
      history_unavailable: true,
    };
  }
  const seen = new Set<string>();
  const merged = [
    ...live,
    ...archived.orders.map((o) => {
      const {
        history: _history,
        charge_id: _charge,
        ...view
      } = o as OrderView & { history?: unknown; charge_id?: unknown };
      return view;
    }),
  ]
    .sort(newestFirst)
    .filter((o) => !seen.has(o.order_id) && seen.add(o.order_id));
  const page = merged.slice(0, query.limit);
  const last = page.at(-1);
  const more = merged.length > query.limit || archived.more;
  return {
    orders: page,
    next_cursor: more && last ? encodeCursor({ at: new Date(last.created_at), id: last.order_id }) : null,
  };
}

/** Up to limit + 1 live orders of the user after the cursor. */
async function liveOrders(
  mysql: Knex,
  userId: string,
  q: { status?: OrderStatus; limit: number; before?: OrderCursor },
): Promise<OrderView[]> {
  let sql = mysql('orders').select('order_id').where({ user_id: userId });
  if (q.status) sql = sql.where({ status: q.status });
  const before = q.before;
  if (before) {
    sql = sql.where(pastKey({ time: 'created_at', id: 'order_id' }, before, 'desc'));
  }
  const rows: { order_id: string }[] = await sql
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'order_id', order: 'desc' },
    ])
    .limit(q.limit + 1);
  // An order archived since the select above is read from the archive's side of the merge instead.
  return (await Promise.all(rows.map((r) => loadOrder(mysql, r.order_id)))).filter((o): o is OrderRecord => o !== null);
}
