import type { Redis } from 'ioredis';
import type { OrderStatus, OrderView } from './model';

/** The seed's Redis record of a live order: `order:{id}`, expiring with the payment window. */
export interface OrderMirror {
  order_id: string;
  user_id: string;
  status: OrderStatus;
  expiry_time: string;
}
export const mirrorKey = (orderId: string) => `order:${orderId}`;

/** Writes the order's mirror, expiring at its payment deadline (nothing once the deadline has passed). */
export async function writeMirror(
  redis: Redis,
  order: Pick<OrderView, 'order_id' | 'user_id' | 'status' | 'expires_at'>,
): Promise<void> {
  const ttl = Date.parse(order.expires_at) - Date.now();
  if (ttl <= 0) return;
  const mirror: OrderMirror = {
    order_id: order.order_id,
    user_id: order.user_id,
    status: order.status,
    expiry_time: order.expires_at,
  };
  await redis.set(mirrorKey(order.order_id), JSON.stringify(mirror), 'PX', ttl);
}

export async function deleteMirror(redis: Redis, orderId: string): Promise<void> {
  await redis.del(mirrorKey(orderId));
}
