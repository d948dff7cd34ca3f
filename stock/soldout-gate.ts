/**
 * The sold-out gate (Redis): once a reservation finds an item at zero stock, further orders for it are refused
 * at the API without starting a saga, for a second at most. MySQL stays the authority: the gate only ever says
 * "no" early, it never lets an order through; releases clear it at once, and the short TTL bounds how long a
 * restock made elsewhere goes unseen.
 */
import type { Redis } from 'ioredis';
import type { Shortage, StockLine } from './model';
import { ticketKey } from './tickets';

const key = (itemId: string) => `soldout:${itemId}`;
export const SOLDOUT_TTL_MS = 1000;

/**
 * What Redis alone already knows to refuse, with no MySQL read: items the gate flags as sold out, and items whose
 * admission tickets (./tickets.ts) are spent below the quantity asked for. The reservation path would give the
 * same answer within their TTLs. Empty when Redis cannot answer (the gate is an optimisation only).
 */
export async function knownShortages(redis: Redis, lines: StockLine[]): Promise<Shortage[]> {
  if (lines.length === 0) return [];
  const ids = lines.map((l) => l.item_id);
  let values: (string | null)[];
  try {
    values = await redis.mget(...ids.map(key), ...ids.map(ticketKey));
  } catch {
    return [];
  }
  return lines.flatMap((l, i): Shortage[] => {
    if (values[i] !== null) return [{ item_id: l.item_id, requested: l.quantity, available: 0 }];
    const left = values[ids.length + i];
    if (left !== null && left !== undefined && Number(left) < l.quantity)
      return [{ item_id: l.item_id, requested: l.quantity, available: Math.max(0, Number(left)) }];
    return [];
  });
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
