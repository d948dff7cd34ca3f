/**
 * Admission tickets (Redis) in front of the MySQL reservation, for flash sales: each item has a counter of
 * the units still worth trying for, started from the committed MySQL stock and taken atomically (all lines of
 * an order or none) before the transaction. When the counter is spent, a buyer is refused without opening a
 * transaction, so the hot item row is fought over by about as many buyers as there are units, not by every
 * buyer whose lock-free read happened to see stock.
 *
 * MySQL stays the authority: a ticket only lets a buyer *try*. Counters live for TICKET_TTL_MS and then start
 * again from MySQL; releases and restocks delete them (./soldout-gate.ts), so a wrong "no" lasts at most
 * that long. When Redis cannot be reached, everyone is let through and MySQL alone decides.
 */
import type { Redis } from 'ioredis';
import type { StockLine as OrderLine, Shortage } from './model';

export const ticketKey = (itemId: string) => `tickets:${itemId}`;
export const TICKET_TTL_MS = 2000;

// KEYS: one counter per line. ARGV: ttl, then per line its quantity and the stock MySQL showed.
// Starts missing counters, then takes every line's quantity, or none. Returns {} or the counters that fell short.
const ADMIT = `
local ttl = tonumber(ARGV[1])
local short = {}
for i, key in ipairs(KEYS) do
  local left = redis.call('GET', key)
  if not left then
    left = ARGV[2 * i + 1]
    redis.call('SET', key, left, 'PX', ttl)
  end
  if tonumber(left) < tonumber(ARGV[2 * i]) then
    table.insert(short, i)
    table.insert(short, tonumber(left))
  end
end
if #short > 0 then return short end
for i, key in ipairs(KEYS) do redis.call('DECRBY', key, ARGV[2 * i]) end
return short
`;

// Gives tickets back after a reservation that did not happen; a counter that expired meanwhile is left alone.
const GIVE_BACK = `
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[i]) end
end
return 1
`;

export type Admission = { admitted: true; ticketsTaken: boolean } | { admitted: false; shortages: Shortage[] };

/** Takes tickets for every line (normalized: one line per item), or refuses with the lines that fell short. */
export async function admit(redis: Redis, lines: OrderLine[], stock: Map<string, number>): Promise<Admission> {
  const args = [
    String(TICKET_TTL_MS),
    ...lines.flatMap((l) => [String(l.quantity), String(stock.get(l.item_id) ?? 0)]),
  ];
  let result: number[];
  try {
    result = (await redis.eval(ADMIT, lines.length, ...lines.map((l) => ticketKey(l.item_id)), ...args)) as number[];
  } catch {
    return { admitted: true, ticketsTaken: false }; // Redis is an optimisation here, never a requirement
  }
  if (result.length === 0) return { admitted: true, ticketsTaken: true };
  const shortages: Shortage[] = [];
  for (let i = 0; i < result.length; i += 2) {
    const line = lines[result[i]! - 1]!;
    shortages.push({ item_id: line.item_id, requested: line.quantity, available: Math.max(0, result[i + 1]!) });
  }
  return { admitted: false, shortages };
}

/** Returns the tickets of a reservation that was refused or failed. Best effort: the TTL heals the rest. */
export async function giveBack(redis: Redis, lines: OrderLine[]): Promise<void> {
  await redis
    .eval(GIVE_BACK, lines.length, ...lines.map((l) => ticketKey(l.item_id)), ...lines.map((l) => String(l.quantity)))
    .catch(() => undefined);
}
