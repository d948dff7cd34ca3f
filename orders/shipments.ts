/**
 * Per-seller shipments (issue 16). Each seller of an order ships its own lines, with a carrier and a tracking
 * number, and each shipment is delivered on its own. The order is `in_transit` once the first shipment left
 * and `delivered` once every seller's shipment is delivered.
 *
 * Both steps run inside one MySQL transaction that locks the order row first, so two sellers shipping the
 * same order at once are taken one after the other; each is idempotent (the same request again changes nothing
 * and answers the same), so a retried activity never ships or delivers twice.
 */
import type { Knex } from 'knex';
import type { OrderStatus } from './model';
import { applyTransition, enqueueOrderEvent } from './repository';
import { sellersOf, toShipment, type ShipmentRow } from './shipment-records';
import type { FulfilmentOutcome } from './model';

export interface ShipRequest {
  orderId: string;
  supplierId: string;
  carrier: string;
  trackingNumber: string;
  /** Who shipped it (a seller's or an admin's user id), for the status history. */
  actor: string;
}

export interface DeliverRequest {
  orderId: string;
  supplierId: string;
  actor: string;
}

/** What a fulfilment step left: the order's status and the shipment it touched. */
export type { FulfilmentOutcome } from './model';

/** Why a shipment step is refused: the caller's mistake, never retried (the saga answers the update with it). */
export class FulfilmentRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FulfilmentRefused';
  }
}

/** Ships one seller's lines: placed or in_transit orders only; the first shipment moves the order in transit. */
export async function shipLines(mysql: Knex, req: ShipRequest): Promise<FulfilmentOutcome> {
  return mysql.transaction(async (trx) => {
    const status = await lockStatus(trx, req.orderId);
    await requireSeller(trx, req.orderId, req.supplierId);
    const existing = await findShipment(trx, req.orderId, req.supplierId);
    if (existing) {
      if (existing.carrier === req.carrier && existing.tracking_number === req.trackingNumber)
        return { orderStatus: status, shipment: toShipment(existing) };
      throw new FulfilmentRefused(
        `the lines of seller ${req.supplierId} were already shipped (${existing.carrier} ${existing.tracking_number})`,
      );
    }
    if (status !== 'placed' && status !== 'in_transit')
      throw new FulfilmentRefused(`the order is ${status} and cannot be shipped`);
    await trx('shipments').insert({
      order_id: req.orderId,
      supplier_id: req.supplierId,
      carrier: req.carrier,
      tracking_number: req.trackingNumber,
      status: 'in_transit',
    });
    const shipment = toShipment((await findShipment(trx, req.orderId, req.supplierId))!);
    const reason = `shipped by ${req.supplierId || 'the shop'}: ${req.carrier} ${req.trackingNumber}`.slice(0, 255);
    if (status === 'placed')
      await applyTransition(trx, req.orderId, {
        from: ['placed'],
        set: { status: 'in_transit' },
        reason,
        actor: req.actor,
      });
    else await recordAction(trx, req.orderId, 'in_transit', reason, req.actor);
    // One event per shipment, so the buyer hears of each package.
    await enqueueOrderEvent(trx, 'order.in_transit', req.orderId, { shipment });
    return { orderStatus: 'in_transit', shipment };
  });
}

/** Delivers one seller's shipment; the order is delivered once every seller's shipment is. */
export async function deliverLines(mysql: Knex, req: DeliverRequest): Promise<FulfilmentOutcome> {
  return mysql.transaction(async (trx) => {
    const status = await lockStatus(trx, req.orderId);
    const sellers = await requireSeller(trx, req.orderId, req.supplierId);
    const existing = await findShipment(trx, req.orderId, req.supplierId);
    if (!existing)
      throw new FulfilmentRefused(`the lines of seller ${req.supplierId || 'the shop'} have not been shipped yet`);
    if (existing.status === 'delivered') return { orderStatus: status, shipment: toShipment(existing) };
    await trx('shipments')
      .where({ order_id: req.orderId, supplier_id: req.supplierId })
      .update({ status: 'delivered', delivered_at: trx.fn.now(3) });
    const shipment = toShipment((await findShipment(trx, req.orderId, req.supplierId))!);
    const reason = `delivered: ${existing.carrier} ${existing.tracking_number}`.slice(0, 255);
    const delivered: { supplier_id: string }[] = await trx('shipments')
      .select('supplier_id')
      .where({ order_id: req.orderId, status: 'delivered' });
    const done = sellers.every((s) => delivered.some((d) => d.supplier_id === s));
    if (done) {
      await applyTransition(trx, req.orderId, {
        from: ['in_transit'],
        set: { status: 'delivered' },
        reason,
        actor: req.actor,
      });
      await enqueueOrderEvent(trx, 'order.delivered', req.orderId, { shipment });
      return { orderStatus: 'delivered', shipment };
    }
    await recordAction(trx, req.orderId, 'in_transit', reason, req.actor);
    await enqueueOrderEvent(trx, 'order.shipment_delivered', req.orderId, { shipment });
    return { orderStatus: status, shipment };
  });
}

/** A line in the order's status history that does not change its status (a second shipment, an operator's action). */
export async function recordAction(
  trx: Knex.Transaction,
  orderId: string,
  status: OrderStatus,
  reason: string,
  actor: string,
): Promise<void> {
  await trx('order_status_history').insert({ order_id: orderId, status, reason: reason.slice(0, 255), actor });
}

async function lockStatus(trx: Knex.Transaction, orderId: string): Promise<OrderStatus> {
  const row: { status: OrderStatus } | undefined = await trx('orders')
    .select('status')
    .where({ order_id: orderId })
    .forUpdate()
    .first();
  if (!row) throw new FulfilmentRefused(`order ${orderId} is not live`);
  return row.status;
}

/** The order's sellers, once `supplierId` is known to be one of them. */
async function requireSeller(trx: Knex.Transaction, orderId: string, supplierId: string): Promise<string[]> {
  const sellers = await sellersOf(trx, orderId);
  if (!sellers.includes(supplierId))
    throw new FulfilmentRefused(`the order holds no items of seller ${supplierId || '(none)'}`);
  return sellers;
}

async function findShipment(
  trx: Knex.Transaction,
  orderId: string,
  supplierId: string,
): Promise<ShipmentRow | undefined> {
  return trx('shipments').where({ order_id: orderId, supplier_id: supplierId }).first();
}
