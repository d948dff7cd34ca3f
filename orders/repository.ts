/**
 * Live orders in MySQL: reading them, and moving them from one status to the next. Every transition is a
 * guarded UPDATE (`WHERE status IN (...)`), so running it twice, or twice at once, changes the order once and
 * writes one event.
 */
import type { Knex } from 'knex';
import { enqueue } from '../outbox/outbox';
import { orderEventMessage, OrderEventType } from '../events/orders';
import type { OrderStatus, OrderView, PaymentStatus, PricedLine } from './model';
import type { ShippingAddress } from '../users/addresses';
import { loadShipments, type Shipment } from './shipment-records';

/** The order as the API and its events show it: the saga's view plus where it ships and its shipments. */
export type OrderRecord = OrderView & { shipping_address: ShippingAddress | null; shipments: Shipment[] };

/** The JSON column as the driver returns it (text from MariaDB) -> the address. */
export function parseAddress(v: unknown): ShippingAddress | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as ShippingAddress;
}

interface OrderRow {
  order_id: string;
  user_id: string;
  status: OrderStatus;
  total_price: number;
  payment_method: string;
  payment_status: PaymentStatus;
  cancel_reason: string | null;
  late_payment: 'refunded' | 'accepted' | null;
  /** The gateway charge that paid for the order (set when placed). */
  charge_id?: string | null;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
  shipping_address?: unknown;
}

export async function loadOrder(db: Knex | Knex.Transaction, orderId: string): Promise<OrderRecord | null> {
  const row: OrderRow | undefined = await db('orders').where({ order_id: orderId }).first();
  if (!row) return null;
  const items: PricedLine[] = await db('order_items')
    .select('item_id', 'quantity', 'price')
    .where({ order_id: orderId })
    .orderBy('item_id');
  return toView(row, items, await loadShipments(db, orderId));
}

/** An order reserved in this very transaction (no shipment can exist yet): its row and its lines in one query,
 * the reservation's read-back on the flash sale's hot path, where each round trip is a wait. */
export async function loadNewOrder(trx: Knex.Transaction, orderId: string): Promise<OrderRecord | null> {
  const rows: (OrderRow & { line_item_id: string; line_quantity: number; line_price: number })[] = await trx(
    'orders as o',
  )
    .join('order_items as oi', 'oi.order_id', 'o.order_id')
    .where('o.order_id', orderId)
    .select('o.*', 'oi.item_id as line_item_id', 'oi.quantity as line_quantity', 'oi.price as line_price')
    .orderBy('oi.item_id');
  if (rows.length === 0) return null;
  const items = rows.map((r) => ({ item_id: r.line_item_id, quantity: r.line_quantity, price: r.line_price }));
  return toView(rows[0]!, items, []);
}

export function toView(row: OrderRow, items: PricedLine[], shipments: Shipment[]): OrderRecord {
  return {
    order_id: row.order_id,
    user_id: row.user_id,
    status: row.status,
    items: items.map((i) => ({ item_id: i.item_id, quantity: Number(i.quantity), price: Number(i.price) })),
    total_price: Number(row.total_price),
    payment_method: row.payment_method,
    payment_status: row.payment_status,
    cancel_reason: row.cancel_reason,
    late_payment: row.late_payment,
    expires_at: new Date(row.expires_at).toISOString(),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
    shipping_address: parseAddress(row.shipping_address),
    shipments,
  };
}

export type { OrderEventType };

/** Publishes (through the outbox) an event carrying the order as it now is. */
export async function enqueueOrderEvent(
  trx: Knex.Transaction,
  type: OrderEventType,
  orderId: string,
  extra: Record<string, unknown> = {},
  loaded?: OrderView,
): Promise<void> {
  const view = loaded ?? (await loadOrder(trx, orderId));
  if (!view) throw new Error(`order ${orderId} vanished inside its own transaction`);
  await enqueue(trx, [orderEvent(type, view, extra)]);
}

/** The outbox message of an order's event, for a caller that writes it with others in one INSERT. */
export function orderEvent(
  type: OrderEventType,
  view: OrderView,
  extra: Record<string, unknown> = {},
  eventId?: string,
) {
  return orderEventMessage(type, { ...view, ...extra }, eventId);
}

export interface Transition {
  from: OrderStatus[];
  set: Partial<Pick<OrderRow, 'status' | 'payment_status' | 'cancel_reason' | 'late_payment' | 'charge_id'>>;
  reason?: string;
  /** Who made the change (a user id, or `saga` for the order's own steps). */
  actor?: string;
}

/**
 * Applies a transition inside `trx` if the order is in one of `from`. Returns false (and does nothing) when it
 * is not: already done by an earlier attempt, or never possible.
 */
export async function applyTransition(trx: Knex.Transaction, orderId: string, t: Transition): Promise<boolean> {
  const changed = await trx('orders')
    .where({ order_id: orderId })
    .whereIn('status', t.from)
    .update({ ...t.set, updated_at: trx.fn.now(3) });
  if (changed === 0) return false;
  if (t.set.status)
    await trx('order_status_history').insert({
      order_id: orderId,
      status: t.set.status,
      reason: t.reason ?? null,
      actor: t.actor ?? null,
    });
  return true;
}
