/** Shipments as stored (MySQL `shipments`, migration 050) and as clients see them; read by the order view. */
import type { Knex } from 'knex';

export type ShipmentStatus = 'in_transit' | 'delivered';

/** A seller's shipment as clients see it (on GET /orders/{id} and in the order events). */
export interface Shipment {
  supplier_id: string;
  carrier: string;
  tracking_number: string;
  status: ShipmentStatus;
  shipped_at: string;
  delivered_at: string | null;
}

export interface ShipmentRow {
  order_id: string;
  supplier_id: string;
  carrier: string;
  tracking_number: string;
  status: ShipmentStatus;
  shipped_at: Date;
  delivered_at: Date | null;
}

export const toShipment = (r: ShipmentRow): Shipment => ({
  supplier_id: r.supplier_id,
  carrier: r.carrier,
  tracking_number: r.tracking_number,
  status: r.status,
  shipped_at: new Date(r.shipped_at).toISOString(),
  delivered_at: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
});

export async function loadShipments(db: Knex | Knex.Transaction, orderId: string): Promise<Shipment[]> {
  const rows: ShipmentRow[] = await db('shipments').where({ order_id: orderId }).orderBy(['shipped_at', 'supplier_id']);
  return rows.map(toShipment);
}

/** The sellers whose items the order holds (items without a seller are shipped by an admin as seller ""). */
export async function sellersOf(db: Knex | Knex.Transaction, orderId: string): Promise<string[]> {
  const rows: { supplier_id: string | null }[] = await db('order_items as oi')
    .distinct('i.supplier_id')
    .leftJoin('items as i', 'i.item_id', 'oi.item_id')
    .where('oi.order_id', orderId);
  return [...new Set(rows.map((r) => r.supplier_id ?? ''))].sort();
}
