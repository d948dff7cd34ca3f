/**
 * The order archive: delivered and canceled orders move from MySQL to Cassandra (by id, and by user for the
 * orders view), with their lines and status history, then leave MySQL.
 *
 * A move is copy, then delete, and either step may be repeated:
 *   1. copy: one logged batch upserts both Cassandra rows. Same key, same values: a second copy is a no-op.
 *   2. delete: one MySQL transaction deletes the order if it is still finished (lines and history cascade)
 *      and writes `order.archived` to the outbox.
 * A crash between the two leaves the order in both stores, and readers de-duplicate by order id; a crash
 * before the copy leaves it in MySQL only. The saga's archive activity retries until both steps are done.
 *
 * Readers look in MySQL first and the archive second: an order moved between the two reads is then seen in
 * the archive (its copy is written before its MySQL row goes), never missed by both.
 */
import type { Knex } from 'knex';
import { types, type Client } from 'cassandra-driver';
import { enqueueOrderEvent, loadOrder, OrderRecord, parseAddress } from './repository';
import type { Shipment } from './shipment-records';
import type { OrderStatus, PaymentStatus } from './model';

/** Statuses an order never leaves: only these are archived. */
export const FINAL_STATUSES: OrderStatus[] = ['delivered', 'canceled'];

export interface StatusChange {
  status: string;
  reason: string | null;
  at: string;
  /** Who made the change (null for the saga's own steps, and in history archived before it was recorded). */
  actor?: string | null;
}

/** An order in the archive: the client's view plus its status history. */
export interface ArchivedOrder extends OrderRecord {
  history: StatusChange[];
  /** The charge that paid for it (null for orders never placed, or placed before charges were recorded). */
  charge_id: string | null;
}

/** One line of the admins' list by status and day. */
export interface ArchivedSummary {
  order_id: string;
  user_id: string;
  status: string;
  total_price: number;
  created_at: string;
}

export type ArchiveOutcome = 'archived' | 'already_archived' | 'not_finished' | 'missing';

/** A position in a user's orders, newest first: strictly older than (at, id). */
export interface OrderCursor {
  at: Date;
  id: string;
}

export class OrderArchive {
  constructor(
    private readonly cassandra: Client,
    private readonly mysql: Knex,
  ) {}

  /** Moves a finished order to the archive. Idempotent, safe to run concurrently with itself. */
  async archive(orderId: string): Promise<ArchiveOutcome> {
    const live = await this.loadLive(orderId);
    if (!live) return (await this.find(orderId)) ? 'already_archived' : 'missing';
    if (!FINAL_STATUSES.includes(live.status)) return 'not_finished';
    await this.copy(live);
    await this.deleteLive(orderId);
    return 'archived';
  }

  /** Step 1: the Cassandra copy (every table in one logged batch, so none is written without the others). */
  async copy(order: ArchivedOrder): Promise<void> {
    const lines = order.items.map((i) => ({
      item_id: i.item_id,
      quantity: i.quantity,
      price: types.BigDecimal.fromString(i.price.toFixed(2)),
    }));
    const history = order.history.map((h) => ({
      status: h.status,
      reason: h.reason,
      at: new Date(h.at),
      actor: h.actor ?? null,
    }));
    const total = types.BigDecimal.fromString(order.total_price.toFixed(2));
    await this.cassandra.batch(
      [
        {
          query: `INSERT INTO orders_by_id (order_id, user_id, status, total_price, payment_method, payment_status, cancel_reason,
                    late_payment, expires_at, created_at, updated_at, archived_at, items, history, charge_id, shipping_address, shipments)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          params: [
            order.order_id,
            order.user_id,
            order.status,
            total,
            order.payment_method,
            order.payment_status,
            order.cancel_reason,
            order.late_payment,
            new Date(order.expires_at),
            new Date(order.created_at),
            new Date(order.updated_at),
            new Date(order.updated_at),
            lines,
            history,
            order.charge_id,
            order.shipping_address ? JSON.stringify(order.shipping_address) : null,
            JSON.stringify(order.shipments),
          ],
        },
        {
          query:
            'INSERT INTO orders_by_user (user_id, created_at, order_id, status, total_price) VALUES (?, ?, ?, ?, ?)',
          params: [order.user_id, new Date(order.created_at), order.order_id, order.status, total],
        },
        {
          // Admins' "delivered on day D" (an archived order's status is final, so its row never moves).
          query:
            'INSERT INTO orders_by_status_day (status, day, created_at, order_id, user_id, total_price) VALUES (?, ?, ?, ?, ?, ?)',
          params: [
            order.status,
            types.LocalDate.fromString(new Date(order.created_at).toISOString().slice(0, 10)),
            new Date(order.created_at),
            order.order_id,
            order.user_id,
            total,
          ],
        },
      ],
      { prepare: true, logged: true },
    );
  }

  /** Step 2: the MySQL delete, only of a finished order, with its `order.archived` event. */
  async deleteLive(orderId: string): Promise<boolean> {
    return this.mysql.transaction(async (trx) => {
      const row = await trx('orders').select('status').where({ order_id: orderId }).forUpdate().first();
      if (!row || !FINAL_STATUSES.includes(row.status)) return false;
      await enqueueOrderEvent(trx, 'order.archived', orderId);
      await trx('orders').where({ order_id: orderId }).whereIn('status', FINAL_STATUSES).delete(); // lines, history cascade
      return true;
    });
  }

  /** Marks an archived order refunded, once: a lightweight transaction, so of two racing callers one applies
   * (and writes the event), the other learns it was done. Callers check that the order is archived first: on a
   * missing row the condition would hold and create one. */
  async markRefunded(
    orderId: string,
    late: boolean,
    /** The row's new updated_at (a caller that changes the row next needs it). */
    at = new Date(),
  ): Promise<'recorded' | 'already_recorded' | 'missing'> {
    // Once per kind, as in MySQL (orders/refunds.ts): a late payment's refund on `late_payment`.
    const cql = late
      ? "UPDATE orders_by_id SET payment_status = 'refunded', late_payment = 'refunded', updated_at = ? WHERE order_id = ? IF late_payment = null"
      : "UPDATE orders_by_id SET payment_status = 'refunded', updated_at = ? WHERE order_id = ? IF payment_status != 'refunded'";
    const rs = await this.cassandra.execute(cql, [at, orderId], { prepare: true });
    const row = rs.first();
    if (row?.['[applied]']) return 'recorded';
    const done = late ? row?.late_payment != null : row?.payment_status === 'refunded';
    return done ? 'already_recorded' : 'missing';
  }

  /**
   * Adds a line to an archived order's status history, once: a compare-and-set on `updated_at` (a lightweight
   * transaction), so a retried or racing caller that finds the same reason there adds nothing ('already_there').
   * `order` is the row as the caller read it; 'missing' when the order is not in the archive.
   */
  async addHistoryLine(
    order: ArchivedOrder,
    line: Omit<StatusChange, 'at'>,
  ): Promise<'added' | 'already_there' | 'missing'> {
    let current: ArchivedOrder | null = order;
    for (let attempt = 0; current && attempt < 5; attempt++) {
      if (current.history.some((h) => h.reason === line.reason)) return 'already_there';
      const now = new Date();
      const change = { status: line.status, reason: line.reason, at: now, actor: line.actor ?? null };
      const rs = await this.cassandra.execute(
        'UPDATE orders_by_id SET history = history + ?, updated_at = ? WHERE order_id = ? IF updated_at = ?',
        [[change], now, order.order_id, current.updated_at ? new Date(current.updated_at) : null],
        { prepare: true },
      );
      if (rs.first()?.['[applied]']) return 'added';
      current = await this.find(order.order_id); // changed meanwhile: look again
    }
    if (!current) return 'missing';
    throw new Error(`the archived order ${order.order_id} kept changing: its history line was not added`);
  }

  /** An archived order by id, or null. */
  async find(orderId: string): Promise<ArchivedOrder | null> {
    const rs = await this.cassandra.execute('SELECT * FROM orders_by_id WHERE order_id = ?', [orderId], {
      prepare: true,
    });
    const row = rs.first();
    return row ? fromRow(row) : null;
  }

  /**
   * A user's archived orders strictly older than `before`, newest first: at most `limit`, and `more` when
   * others follow. A status filter is applied while paging through the user's partition.
   */
  async pageByUser(
    userId: string,
    opts: { before?: OrderCursor; status?: OrderStatus; limit: number },
  ): Promise<{ orders: ArchivedOrder[]; more: boolean }> {
    const params: unknown[] = [userId];
    let cql = 'SELECT order_id, status FROM orders_by_user WHERE user_id = ?';
    if (opts.before) {
      cql += ' AND (created_at, order_id) < (?, ?)';
      params.push(opts.before.at, opts.before.id);
    }
    const ids: string[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.cassandra.execute(cql, params, {
        prepare: true,
        fetchSize: Math.max(50, opts.limit + 1),
        pageState,
      });
      for (const row of rs.rows) {
        if (!opts.status || row.status === opts.status) ids.push(row.order_id as string);
        if (ids.length > opts.limit) break;
      }
      pageState = rs.pageState ?? undefined;
    } while (pageState && ids.length <= opts.limit);
    const orders = (await Promise.all(ids.slice(0, opts.limit).map((id) => this.find(id)))).filter(
      (o): o is ArchivedOrder => o !== null,
    );
    return { orders, more: ids.length > opts.limit };
  }

  /** Archived orders of one status created on one day (UTC, YYYY-MM-DD), newest first, strictly older than
   * `before`: at most `limit`, and `more` when others follow. One partition, read in key order. */
  async pageByStatusDay(
    status: OrderStatus,
    day: string,
    opts: { before?: OrderCursor; limit: number },
  ): Promise<{ orders: ArchivedSummary[]; more: boolean }> {
    const params: unknown[] = [status, types.LocalDate.fromString(day)];
    let cql =
      'SELECT order_id, user_id, status, total_price, created_at FROM orders_by_status_day WHERE status = ? AND day = ?';
    if (opts.before) {
      cql += ' AND (created_at, order_id) < (?, ?)';
      params.push(opts.before.at, opts.before.id);
    }
    cql += ' LIMIT ?';
    params.push(opts.limit + 1);
    const rs = await this.cassandra.execute(cql, params, { prepare: true, fetchSize: opts.limit + 1 });
    const orders = rs.rows.slice(0, opts.limit).map((r) => ({
      order_id: r.order_id as string,
      user_id: r.user_id as string,
      status: r.status as string,
      total_price: num(r.total_price),
      created_at: iso(r.created_at)!,
    }));
    return { orders, more: rs.rows.length > opts.limit };
  }

  /** The live order with its status history, read from MySQL. */
  async loadLive(orderId: string): Promise<ArchivedOrder | null> {
    const view = await loadOrder(this.mysql, orderId);
    if (!view) return null;
    const charge = await this.mysql('orders').select('charge_id').where({ order_id: orderId }).first();
    const rows: { status: string; reason: string | null; at: Date; actor: string | null }[] = await this.mysql(
      'order_status_history',
    )
      .select('status', 'reason', 'at', 'actor')
      .where({ order_id: orderId })
      .orderBy('id');
    return {
      ...view,
      charge_id: charge?.charge_id ?? null,
      history: rows.map((r) => ({
        status: r.status,
        reason: r.reason,
        at: new Date(r.at).toISOString(),
        actor: r.actor,
      })),
    };
  }
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
const num = (d: types.BigDecimal | null) => (d ? Number(d.toString()) : 0);

function fromRow(row: types.Row): ArchivedOrder {
  const items = ((row.items ?? []) as { item_id: string; quantity: number; price: types.BigDecimal }[]).map((l) => ({
    item_id: l.item_id,
    quantity: l.quantity,
    price: num(l.price),
  }));
  const history = (
    (row.history ?? []) as { status: string; reason: string | null; at: Date; actor?: string | null }[]
  ).map((h) => ({
    status: h.status,
    reason: h.reason,
    at: iso(h.at)!,
    actor: h.actor ?? null,
  }));
  return {
    order_id: row.order_id,
    user_id: row.user_id,
    status: row.status as OrderStatus,
    items,
    total_price: num(row.total_price),
    payment_method: row.payment_method,
    payment_status: row.payment_status as PaymentStatus,
    cancel_reason: row.cancel_reason ?? null,
    late_payment: row.late_payment ?? null,
    expires_at: iso(row.expires_at) ?? iso(row.created_at)!,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
    shipping_address: parseAddress(row.shipping_address),
    shipments: row.shipments ? (JSON.parse(row.shipments) as Shipment[]) : [],
    history,
    charge_id: row.charge_id ?? null,
  };
}
