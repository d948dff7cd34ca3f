import type { OrderStatus } from './model';

/** The seed's Redis record of a live order: `order:{id}`, expiring with the payment window. */
export interface OrderMirror {
  order_id: string;
  user_id: string;
  status: OrderStatus;
  expiry_time: string;
}
export const mirrorKey = (orderId: string) => `order:${orderId}`;
