/**
 * What a notification is, and which order changes make one. Pure: no I/O (the consumer looks up sellers and
 * recipients, the repository stores the drafts).
 *
 * Which events notify:
 * - the customer on every change they did not cause through the API answer: `order.placed` (paid and
 *   confirmed), `order.canceled` (declined, expired or canceled), `order.refunded`, `order.in_transit`,
 *   `order.delivered`;
 * - each seller (the `supplier_id` of the order's items) on `order.placed`: a new order to ship;
 * - `order.created` notifies no one: it is only a stock reservation waiting for its payment, the buyer already
 *   has it as the answer of `POST /orders`, and `placed` or `canceled` always follows within the payment window,
 *   so notifying it would make every order two messages and every failed payment a confusing pair.
 *   `order.archived` is internal housekeeping.
 */
import { OrderEvent } from '../events/orders';
import { parseWith } from '../events/envelope';

export type Audience = 'customer' | 'seller' | 'direct';
export type DeliveryStatus = 'pending' | 'sent' | 'failed';

/** A notification as stored and as the API shows it. */
export interface Notification {
  notification_id: string;
  user_id: string;
  audience: Audience;
  type: string;
  message: string;
  order_id: string | null;
  delivery_status: DeliveryStatus;
  channel: string | null;
  attempts: number;
  created_at: string;
  sent_at: string | null;
  read_at: string | null;
}

/** A notification to be stored: one recipient, one source event (or none for a direct one). */
export interface NotificationDraft {
  user_id: string;
  audience: Audience;
  type: string;
  message: string;
  order_id: string | null;
  source_event_id: string | null;
}

/** The order event (contract: events/orders.ts); one that does not match is skipped, never retried forever. */
export { OrderEvent };

/** Event type -> the customer's notification type. */
export const CUSTOMER_TYPES: Record<string, string> = {
  'order.placed': 'order_placed',
  'order.canceled': 'order_canceled',
  'order.refunded': 'order_refunded',
  'order.in_transit': 'order_in_transit',
  'order.shipment_delivered': 'shipment_delivered',
  'order.delivered': 'order_delivered',
};
/** The seller's notification type for a new (placed) order. */
export const SELLER_NEW_ORDER = 'new_order';
/** The seller's notification type when an order they were told to ship is canceled (do not ship it). */
export const SELLER_ORDER_CANCELED = 'order_to_ship_canceled';

/** Parses a Kafka message value; undefined when it is not an order event this service understands. */
export const parseOrderEvent = (value: Buffer | null): OrderEvent | undefined => parseWith(OrderEvent, value);

/** True when the event makes any notification (so the consumer only looks up what it needs). */
export function notifies(ev: OrderEvent): boolean {
  return ev.type in CUSTOMER_TYPES;
}

const money = (n: number | undefined) => (n === undefined ? '' : ` (total ${n.toFixed(2)})`);
const units = (n: number) => `${n} ${n === 1 ? 'unit' : 'units'}`;

function cancelText(ev: OrderEvent): string {
  const reason = ev.data.reason ?? ev.data.cancel_reason ?? undefined;
  switch (reason) {
    case 'payment_declined':
      return `Your order ${ev.data.order_id} was canceled: the payment was declined.`;
    case 'payment_timeout':
      return `Your order ${ev.data.order_id} was canceled: no payment arrived in time.`;
    case 'canceled_by_customer':
      return `Your order ${ev.data.order_id} was canceled as requested.`;
    default:
      return `Your order ${ev.data.order_id} was canceled.`;
  }
}

/** " (UPS, tracking 1Z999)": the shipment an event names. */
function packageText(ev: OrderEvent): string {
  const s = ev.data.shipment;
  return s ? ` (${s.carrier}, tracking ${s.tracking_number})` : '';
}

function inTransit(ev: OrderEvent): string {
  const n = (ev.data.shipments ?? []).filter((x) => x.status === 'in_transit').length;
  return n === 1 ? '1 package is' : `${n} packages are`;
}

/** The customer's notification for this event, or undefined when this event does not notify them. */
export function customerDraft(ev: OrderEvent): NotificationDraft | undefined {
  const type = CUSTOMER_TYPES[ev.type];
  if (!type) return undefined;
  const id = ev.data.order_id;
  const count = ev.data.items.reduce((s, l) => s + l.quantity, 0);
  const message = (<Record<string, string>>{
    'order.placed': `Your order ${id} is confirmed: ${units(count)}${money(ev.data.total_price)}. We will tell you when it ships.`,
    'order.canceled': cancelText(ev),
    'order.refunded': ev.data.extra_charge
      ? `A second payment of ${ev.data.extra_charge.amount.toFixed(2)} for your order ${id} was refunded; your order stays paid.`
      : `The payment for your order ${id} was refunded${money(ev.data.total_price)}.`,
    'order.in_transit': ev.data.shipment
      ? `A package of your order ${id} has shipped${packageText(ev)}.`
      : `Your order ${id} has shipped and is on its way.`,
    'order.shipment_delivered': `A package of your order ${id} was delivered${packageText(ev)}; ${inTransit(ev)} still on its way.`,
    'order.delivered': ev.data.shipment
      ? `Your order ${id} was delivered${packageText(ev)}.`
      : `Your order ${id} was delivered.`,
  })[ev.type]!;
  return { user_id: ev.data.user_id, audience: 'customer', type, message, order_id: id, source_event_id: ev.event_id };
}

/** An address on one line: "Ada Lovelace, 12 Rue de Rivoli, 75004 Paris, FR (+33 1 23 45 67 89)". */
export function addressText(a: OrderEvent['data']['shipping_address']): string | undefined {
  if (!a) return undefined;
  const place = [a.postal_code, a.city].join(' ') + (a.region ? `, ${a.region}` : '');
  return [a.name, a.line1, a.line2, place, a.country].filter(Boolean).join(', ') + (a.phone ? ` (${a.phone})` : '');
}

/** One notification per seller of a placed order, naming that seller's lines only. `suppliers` maps item id to
 * its supplier (items without one are nobody's to ship). */
export function sellerDrafts(ev: OrderEvent, suppliers: Map<string, string>): NotificationDraft[] {
  if (ev.type !== 'order.placed') return [];
  const bySeller = new Map<string, { item_id: string; quantity: number }[]>();
  for (const line of ev.data.items) {
    const seller = suppliers.get(line.item_id);
    if (!seller) continue;
    bySeller.set(seller, [...(bySeller.get(seller) ?? []), line]);
  }
  const shipTo = addressText(ev.data.shipping_address);
  return [...bySeller].map(([seller, lines]) => ({
    user_id: seller,
    audience: 'seller' as const,
    type: SELLER_NEW_ORDER,
    // The address first, so the 1,000-character cap cuts a long list of lines, never where to ship.
    message: `New order ${ev.data.order_id} to ship${shipTo ? ` to ${shipTo}` : ''}: ${lines
      .slice(0, 20)
      .map((l) => `${units(l.quantity)} of ${l.item_id}`)
      .join(', ')}${lines.length > 20 ? ` and ${lines.length - 20} more lines` : ''}.`.slice(0, 1000),
    order_id: ev.data.order_id,
    source_event_id: ev.event_id,
  }));
}

/** One notification per seller who was told to ship this (now canceled) order: `toldSellers` are those with
 * a `new_order` notification for it. A decline or an expiry never reached a seller, so it tells none. */
export function sellerCancelDrafts(ev: OrderEvent, toldSellers: string[]): NotificationDraft[] {
  if (ev.type !== 'order.canceled') return [];
  return [...new Set(toldSellers)].map((seller) => ({
    user_id: seller,
    audience: 'seller' as const,
    type: SELLER_ORDER_CANCELED,
    message: `Order ${ev.data.order_id} was canceled by the buyer before shipping: do not ship it.`,
    order_id: ev.data.order_id,
    source_event_id: ev.event_id,
  }));
}

/** The e-mail subject of a notification type. */
export function subjectOf(type: string): string {
  const known: Record<string, string> = {
    order_placed: 'Your order is confirmed',
    order_canceled: 'Your order was canceled',
    order_refunded: 'Your payment was refunded',
    order_in_transit: 'Your order has shipped',
    order_delivered: 'Your order was delivered',
    shipment_delivered: 'A package of your order was delivered',
    new_order: 'New order to ship',
    order_to_ship_canceled: 'An order to ship was canceled',
  };
  return known[type] ?? `Notification: ${type.replace(/_/g, ' ')}`;
}
