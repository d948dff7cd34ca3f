/** Schemas shared by several routers. Ids are plain bounded strings: an object such as {"$gt": ""} is refused. */
import { z } from './openapi';
import { AddressSchema } from './address';

export const Id = z
  .string()
  .min(1)
  .max(50, { abort: true })
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');
export const UserIdParams = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) });
export const IdParams = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) });
export const Money = z.number().nonnegative().max(99_999_999.99).multipleOf(0.01);

/** Printable ASCII without spaces at either end (HTTP trims those, so " " would arrive empty). */
export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255, { abort: true })
  .regex(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/, 'printable ASCII, no spaces at either end');
export const IdempotencyHeaders = z.object({ 'idempotency-key': IdempotencyKey.optional() });

/** A seller's shipment of an order (orders/shipment-records.ts). */
export const ShipmentSchema = z
  .object({
    supplier_id: z.string(),
    carrier: z.string(),
    tracking_number: z.string(),
    status: z.enum(['in_transit', 'delivered']),
    shipped_at: z.string(),
    delivered_at: z.string().nullable(),
  })
  .openapi('Shipment');

export const OrderSchema = z
  .object({
    order_id: z.string(),
    user_id: z.string(),
    status: z.enum(['created', 'placed', 'in_transit', 'delivered', 'canceled']),
    items: z.array(z.object({ item_id: z.string(), quantity: z.number().int(), price: z.number() })),
    total_price: z.number(),
    payment_method: z.string(),
    payment_status: z.string(),
    cancel_reason: z.string().nullable(),
    late_payment: z.string().nullable(),
    expires_at: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    shipping_address: AddressSchema.nullable().openapi({
      description: 'where the order ships (null only for orders placed before addresses existed)',
    }),
    shipments: z.array(ShipmentSchema).openapi({
      description: "one per seller that shipped its lines; the order is delivered once every seller's shipment is",
    }),
  })
  .openapi('Order');
