/** Order events on shopflow.orders, keyed by order id: each carries the order as it now is (the API's order
 * view) plus a few facts of the change (`reason`, `late`, `late_payment`). */
import { z } from 'zod';
import { TOPICS } from '../stores/kafka/topics';
import { envelope, envelopeOf, EventContract, messageOf } from './envelope';

export const ORDER_EVENT_TYPES = [
  'order.created',
  'order.placed',
  'order.canceled',
  'order.refunded',
  'order.in_transit',
  'order.shipment_delivered',
  'order.delivered',
  'order.archived',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

const Line = z.object({
  item_id: z.string().min(1).max(50),
  quantity: z.number().int().positive(),
  price: z.number().nonnegative(),
});
const Address = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  region: z.string().optional(),
  postal_code: z.string(),
  country: z.string(),
  phone: z.string().optional(),
});

/** Version 1. Consumers read the fields named here; anything else the producer adds passes through. */
export const OrderEventData = z
  .object({
    order_id: z.string().min(1).max(50),
    user_id: z.string().min(1).max(50),
    status: z.string().optional(),
    items: z.array(Line).max(1000),
    total_price: z.number().optional(),
    cancel_reason: z.string().nullable().optional(),
    shipping_address: Address.nullable().optional(),
    /** order.canceled: why. */
    reason: z.string().optional(),
    /** order.refunded: the refund of a payment that came after the order was canceled. */
    late: z.boolean().optional(),
    /** order.refunded: charges paid beside the one that paid for the order (the buyer paid twice) went back; the
     * order stays paid. `amount` in the order's currency. */
    extra_charge: z
      .object({ charge_ids: z.array(z.string().max(100)).max(100), amount: z.number().nonnegative() })
      .optional(),
    /** order.placed: a payment accepted after the deadline. */
    late_payment: z.string().nullable().optional(),
    /** order.in_transit, order.shipment_delivered, order.delivered (saga v3): the seller's package this event is about. */
    shipment: z
      .object({ supplier_id: z.string().max(50), carrier: z.string().max(100), tracking_number: z.string().max(100) })
      .passthrough()
      .optional(),
    /** Every seller's shipment so far (saga v3). */
    shipments: z
      .array(z.object({ supplier_id: z.string().max(50), status: z.string().max(20) }).passthrough())
      .max(1000)
      .optional(),
  })
  .passthrough();

const contract = <T extends OrderEventType>(type: T): EventContract<T, typeof OrderEventData> => ({
  type,
  version: 1,
  topic: TOPICS.orders.name,
  data: OrderEventData,
});

/** One schema per order event type, all of one data shape. */
export const OrderEvents = Object.fromEntries(ORDER_EVENT_TYPES.map((t) => [t, envelopeOf(contract(t))])) as {
  [T in OrderEventType]: ReturnType<typeof envelopeOf<T, typeof OrderEventData>>;
};
/** Any order event. */
export const OrderEvent = envelope(z.enum(ORDER_EVENT_TYPES), 1, OrderEventData);
export type OrderEvent = z.infer<typeof OrderEvent>;

export const orderEventMessage = (type: OrderEventType, data: z.input<typeof OrderEventData>, eventId?: string) =>
  messageOf(contract(type), data.order_id, data, new Date(), eventId);
