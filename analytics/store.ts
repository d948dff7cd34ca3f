/**
 * Applies an event's effects to Redis exactly once: one Lua script per event sets the dedupe marker
 * `{p}seen:{event_id}` with SET NX and, only if it was not there, applies every increment of the event. A
 * script runs atomically, so a redelivered event (at-least-once Kafka, the outbox relay's retries) or a
 * consumer that crashed after the script but before committing its offset changes nothing the second time,
 * and a crash can never leave half an event counted.
 *
 * Ops name their keys in KEYS (the script's contract). The `co` and `cross` ops (recommendations) also touch
 * keys derived inside the script (the co-occurrence lists of the items in a user's history): fine on one Redis
 * node; a Redis Cluster would need those keys under one hash tag or the history read outside the script.
 */
import type { Redis } from '../stores/redis/client';

export type Op =
  /** ZINCRBY key amount member */
  | { kind: 'zincr'; key: string; member: string; amount: number; ttl?: number }
  /** HINCRBY key member amount */
  | { kind: 'hincr'; key: string; member: string; amount: number; ttl?: number }
  /** PFADD key member */
  | { kind: 'pfadd'; key: string; member: string; ttl?: number }
  /** ZADD key GT amount member: a latest-timestamp index (recently viewed, bought) */
  | { kind: 'zmax'; key: string; member: string; amount: number; ttl?: number }
  /** keep the `amount` highest members of a zset */
  | { kind: 'ztrim'; key: string; amount: number; ttl?: number }
  /** co-occurrence: ZINCRBY {coPrefix}{key's item} amount member, both directions, trimmed to the cap. `key` is
   * the co-occurrence list of the first item (so it is declared); member is the other item. */
  | { kind: 'co'; key: string; member: string; amount: number; ttl?: number; self: string }
  /** pairs `member` with the latest `limit` items (default: the applier's crossLimit) of the history zset `key`
   * (not itself): co += amount both ways, in the bought-together lists (`cross`) or the viewed-together lists
   * (`crossv`) */
  | { kind: 'cross' | 'crossv'; key: string; member: string; amount: number; ttl?: number; limit?: number };

const SCRIPT = `
local coPrefix = ARGV[2]
local coCap = tonumber(ARGV[3])
local coTtl = tonumber(ARGV[4])
local crossLimit = tonumber(ARGV[5])
local coViewPrefix = ARGV[6]
local function co(k, member, amount)
  redis.call('ZINCRBY', k, amount, member)
  if coTtl > 0 then redis.call('EXPIRE', k, coTtl) end
  local n = redis.call('ZCARD', k)
  if n > coCap + math.floor(coCap / 2) then redis.call('ZREMRANGEBYRANK', k, 0, n - coCap - 1) end
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local a = 7
for i = 2, #KEYS do
  local k = KEYS[i]
  local kind = ARGV[a]
  local member = ARGV[a + 1]
  local amount = ARGV[a + 2]
  local ttl = tonumber(ARGV[a + 3])
  local extra = ARGV[a + 4]
  a = a + 5
  if kind == 'zincr' then redis.call('ZINCRBY', k, amount, member)
  elseif kind == 'hincr' then redis.call('HINCRBY', k, member, amount)
  elseif kind == 'pfadd' then redis.call('PFADD', k, member)
  elseif kind == 'zmax' then redis.call('ZADD', k, 'GT', amount, member)
  elseif kind == 'ztrim' then
    local n = redis.call('ZCARD', k)
    local keep = tonumber(amount)
    if n > keep then redis.call('ZREMRANGEBYRANK', k, 0, n - keep - 1) end
  elseif kind == 'co' then
    co(k, member, amount)
    co(coPrefix .. member, extra, amount)
  elseif kind == 'cross' or kind == 'crossv' then
    local lim = tonumber(extra)
    if not lim or lim <= 0 then lim = crossLimit end
    local p = coPrefix
    if kind == 'crossv' then p = coViewPrefix end
    local hist = redis.call('ZREVRANGE', k, 0, lim - 1)
    for _, other in ipairs(hist) do
      if other ~= member then
        co(p .. other, member, amount)
        co(p .. member, other, amount)
      end
    end
  end
  if ttl > 0 and kind ~= 'co' and kind ~= 'cross' and kind ~= 'crossv' then redis.call('EXPIRE', k, ttl) end
end
return 1
`;

export interface ApplyOptions {
  /** Seconds the dedupe marker lives (longer than any redelivery can come late). */
  seenTtl: number;
  /** Key prefixes of the co-occurrence lists (recommendations: bought together, viewed together), their cap,
   * their TTL, and the history read by `cross`. */
  coPrefix: string;
  coViewPrefix: string;
  coCap: number;
  coTtl: number;
  crossLimit: number;
}

type ApplyCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number>;

export class ExactlyOnceApplier {
  constructor(private readonly redis: Redis, private readonly opts: ApplyOptions) {
    if (!(redis as unknown as { analyticsApply?: unknown }).analyticsApply) redis.defineCommand('analyticsApply', { lua: SCRIPT });
  }

  private args(seenKey: string, ops: Op[]): [number, ...(string | number)[]] {
    const keys = [seenKey, ...ops.map((o) => o.key)];
    const argv: (string | number)[] = [this.opts.seenTtl, this.opts.coPrefix, this.opts.coCap, this.opts.coTtl, this.opts.crossLimit, this.opts.coViewPrefix];
    for (const o of ops) {
      argv.push(o.kind, 'member' in o ? o.member : '', 'amount' in o ? o.amount : 0, o.ttl ?? 0, o.kind === 'co' ? o.self : o.kind === 'cross' || o.kind === 'crossv' ? (o.limit ?? 0) : '');
    }
    return [keys.length, ...keys, ...argv];
  }

  /** Applies each event's ops (one script each, pipelined in order). Returns, per event, whether it was new. */
  async applyAll(events: { seenKey: string; ops: Op[] }[]): Promise<boolean[]> {
    if (events.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const e of events) (pipe as unknown as { analyticsApply: ApplyCommand }).analyticsApply(...this.args(e.seenKey, e.ops));
    const results = (await pipe.exec()) ?? [];
    return results.map(([err, r]) => {
      if (err) throw err;
      return r === 1;
    });
  }
}
