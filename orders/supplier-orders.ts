/**
 * A seller's order queue: the live orders (MySQL) holding that seller's items, newest first, each with only
 * that seller's lines. Archived orders are not listed: they are all delivered or canceled (nothing left to
 * do), and the archive has no table by seller (Cassandra would need one written per seller of each order).
 */
import type { Knex } from 'knex';
import type { OrderStatus } from './model';
import type { ShippingAddress } from '../users/addresses';
import { parseAddress } from './repository';
import { decodeCursor, encodeCursor } from './orders-view';
import { toShipment, type Shipment, type ShipmentRow } from './shipment-records';
import { pastKey } from '../stores/mysql/keyset';

export interface SupplierOrder {
  order_id: string;
  user_id: string;
  status: OrderStatus;
  shipping_address: ShippingAddress | null;
  /** The seller's lines only, and their sum. */
  items: { item_id: string; quantity: number; price: number }[];
  subtotal: number;
  /** This seller's shipment of the order, once shipped. */
  shipment: Shipment | null;
  created_at: string;
  updated_at: string;
}

export interface SupplierOrdersQuery {
  status?: OrderStatus;
  /** Only the placed or in-transit orders whose lines of this seller have not left yet. */
  toShip?: boolean;
  limit: number;
  cursor?: string;
}

export async function listSupplierOrders(
  mysql: Knex,
  supplierId: string,
  q: SupplierOrdersQuery,
): Promise<{ orders: SupplierOrder[]; next_cursor: string | null }> {
  const before = q.cursor ? decodeCursor(q.cursor) : undefined;
  let sql = mysql('orders as o')
    .distinct('o.order_id', 'o.user_id', 'o.status', 'o.shipping_address', 'o.created_at', 'o.updated_at')
    .join('order_items as oi', 'oi.order_id', 'o.order_id')
    .join('items as i', 'i.item_id', 'oi.item_id')
    .where('i.supplier_id', supplierId);
  if (q.status) sql = sql.where('o.status', q.status);
  if (q.toShip) {
    sql = sql
      .whereIn('o.status', ['placed', 'in_transit'])
      .whereNotExists((x) =>
        x
          .select(mysql.raw('1'))
          .from('shipments as sh')
          .whereRaw('sh.order_id = o.order_id')
          .andWhere('sh.supplier_id', supplierId),
      );
  }
  if (before) {
    sql = sql.where(pastKey({ time: 'o.created_at', id: 'o.order_id' }, before, 'desc'));
  }
  const rows: {
    order_id: string;
    user_id: string;
    status: OrderStatus;
    shipping_address: unknown;
    created_at: Date;
    updated_at: Date;
  }[] = await sql
    .orderBy([
      { column: 'o.created_at', order: 'desc' },
      { column: 'o.order_id', order: 'desc' },
    ])
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  if (page.length === 0) return { orders: [], next_cursor: null };

  const lines: { order_id: string; item_id: string; quantity: number; price: number }[] = await mysql(
    'order_items as oi',
  )
    .select('oi.order_id', 'oi.item_id', 'oi.quantity', 'oi.price')
    .join('items as i', 'i.item_id', 'oi.item_id')
    .where('i.supplier_id', supplierId)
    .whereIn(
      'oi.order_id',
      page.map((r) => r.order_id),
    )
    .orderBy(['oi.order_id', 'oi.item_id']);
  const byOrder = new Map<string, SupplierOrder['items']>();
  for (const l of lines)
    byOrder.set(l.order_id, [
      ...(byOrder.get(l.order_id) ?? []),
      { item_id: l.item_id, quantity: Number(l.quantity), price: Number(l.price) },
    ]);

  const shipments: ShipmentRow[] = await mysql('shipments')
    .where({ supplier_id: supplierId })
    .whereIn(
      'order_id',
      page.map((r) => r.order_id),
    );
  const shipmentOf = new Map(shipments.map((sh) => [sh.order_id, toShipment(sh)]));
  const orders = page.map((r) => {
    const items = byOrder.get(r.order_id) ?? [];
    return {
      order_id: r.order_id,
      user_id: r.user_id,
      status: r.status,
      shipping_address: parseAddress(r.shipping_address),
      items,
      subtotal: items.reduce((s, l) => s + Math.round(l.price * 100) * l.quantity, 0) / 100,
      shipment: shipmentOf.get(r.order_id) ?? null,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.updated_at).toISOString(),
    };
  });
  const last = page.at(-1)!;
  return {
    orders,
    next_cursor: rows.length > q.limit ? encodeCursor({ at: new Date(last.created_at), id: last.order_id }) : null,
  };
}
