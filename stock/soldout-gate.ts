/**
 * The sold-out gate (Redis): once a reservation finds an item at zero stock, further orders for it are refused
 * at the API without starting a saga, for a second at most. MySQL stays the authority: the gate only ever says
 * "no" early, it never lets an order through; releases clear it at once, and the short TTL bounds how long a
 * restock made elsewhere goes unseen.
 */
import type { Redis } from 'ioredis';
import type { Shortage } from './model';
import { ticketKey } from './tickets';

const key = (itemId: string) => `soldout:${itemId}`;
export const SOLDOUT_TTL_MS = 1000;

/** The items of the order that the gate knows to be sold out. */
export async function soldOutItems(redis: Redis, itemIds: string[]): Promise<string[]> {
  if (itemIds.length === 0) return [];
  const flags = await redis.mget(...itemIds.map(key));
  return itemIds.filter((_, i) => flags[i] !== null);
}

export async function markSoldOut(redis: Redis, shortages: Shortage[]): Promise<void> {
  const zero = shortages.filter((s) => s.available === 0);
  if (zero.length === 0) return;
  const m = redis.multi();
  for (const s of zero) m.set(key(s.item_id), '1', 'PX', SOLDOUT_TTL_MS);
  await m.exec();
}

/** Stock came back (a release, a restock): the gate opens and the admission tickets start again from MySQL. */
export async function clearSoldOut(redis: Redis, itemIds: string[]): Promise<void> {
  if (itemIds.length > 0) await redis.del(...itemIds.map(key), ...itemIds.map(ticketKey));
}
