/**
 * Applies an event's effects to Redis exactly once: a Lua script sets each event's dedupe marker
 * `{p}seen:{event_id}` with SET NX and, only if it was not there, applies every increment of the event (one call
 * handles up to EVENTS_PER_CALL events in order). A script runs atomically, so a redelivered event
 * (at-least-once Kafka, the outbox relay's retries) or a consumer that crashed after the script but before
 * committing its offset changes nothing the second time, and a crash can never leave half an event counted.
 *
 * Ops name their keys in KEYS (the script's contract). The `co` and `cross` ops (recommendations) also touch
 * keys derived inside the script (the co-occurrence lists of the items in a user's history): fine on one Redis
 * node; a Redis Cluster would need those keys under one hash tag or the history read outside the script.
 */
import type { Redis } from './client';

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

/** KEYS: per event, its dedupe key then one key per op. ARGV: 6 settings, then per event its op count and
 * 5 values per op. Events apply in order; each one's ops only if its SET NX succeeds. A key's TTL is set once
 * per call (the first op that touches it), not once per op. */
const SCRIPT = `
local seenTtl = ARGV[1]
local coPrefix = ARGV[2]
local coCap = tonumber(ARGV[3])
local coTtl = tonumber(ARGV[4])
local crossLimit = tonumber(ARGV[5])
local coViewPrefix = ARGV[6]
local touched = {}
local function expire(k, ttl)
  if ttl > 0 and not touched[k] then
    touched[k] = true
    redis.call('EXPIRE', k, ttl)
  end
end
local function co(k, member, amount)
  local score = tonumber(redis.call('ZINCRBY', k, amount, member))
  expire(k, coTtl)
  -- Only a new member can push the list past its cap (its score is then the amount itself).
  if score == tonumber(amount) then
    local n = redis.call('ZCARD', k)
    if n > coCap + math.floor(coCap / 2) then redis.call('ZREMRANGEBYRANK', k, 0, n - coCap - 1) end
  end
end
local out = {}
local ki = 1
local a = 7
while ki <= #KEYS do
  local fresh = redis.call('SET', KEYS[ki], '1', 'NX', 'EX', seenTtl)
  local n = tonumber(ARGV[a])
  ki = ki + 1
  a = a + 1
  out[#out + 1] = fresh and 1 or 0
  for _ = 1, n do
    if fresh then
      local k = KEYS[ki]
      local kind = ARGV[a]
      local member = ARGV[a + 1]
      local amount = ARGV[a + 2]
      local ttl = tonumber(ARGV[a + 3])
      local extra = ARGV[a + 4]
      if kind == 'zincr' then redis.call('ZINCRBY', k, amount, member)
      elseif kind == 'hincr' then redis.call('HINCRBY', k, member, amount)
      elseif kind == 'pfadd' then redis.call('PFADD', k, member)
      elseif kind == 'zmax' then redis.call('ZADD', k, 'GT', amount, member)
      elseif kind == 'ztrim' then
        local c = redis.call('ZCARD', k)
        local keep = tonumber(amount)
        if c > keep then redis.call('ZREMRANGEBYRANK', k, 0, c - keep - 1) end
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
      if kind ~= 'co' and kind ~= 'cross' and kind ~= 'crossv' then expire(k, ttl) end
    end
    ki = ki + 1
    a = a + 5
  end
end
return out
`;

/** Events per script call: bounds how long one call holds Redis (a call is atomic: all its events or none). */
const EVENTS_PER_CALL = 100;

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

type ApplyCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

export class ExactlyOnceApplier {
  constructor(
    private readonly redis: Redis,
    private readonly opts: ApplyOptions,
  ) {
    if (!(redis as unknown as { analyticsApplyAll?: unknown }).analyticsApplyAll)
      redis.defineCommand('analyticsApplyAll', { lua: SCRIPT });
  }

  private args(events: { seenKey: string; ops: Op[] }[]): [number, ...(string | number)[]] {
    const keys: string[] = [];
    const argv: (string | number)[] = [
      this.opts.seenTtl,
      this.opts.coPrefix,
      this.opts.coCap,
      this.opts.coTtl,
      this.opts.crossLimit,
      this.opts.coViewPrefix,
    ];
    for (const e of events) {
      keys.push(e.seenKey);
      argv.push(e.ops.length);
      for (const o of e.ops) {
        keys.push(o.key);
        argv.push(
          o.kind,
          'member' in o ? o.member : '',
          'amount' in o ? o.amount : 0,
          o.ttl ?? 0,
          o.kind === 'co' ? o.self : o.kind === 'cross' || o.kind === 'crossv' ? (o.limit ?? 0) : '',
        );
      }
    }
    return [keys.length, ...keys, ...argv];
  }

  /** Applies the events' ops in order (up to EVENTS_PER_CALL per script call, pipelined). Returns, per event,
   * whether it was new (false: a redelivery, nothing applied). */
  async applyAll(events: { seenKey: string; ops: Op[] }[]): Promise<boolean[]> {
    if (events.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (let i = 0; i < events.length; i += EVENTS_PER_CALL)
      (pipe as unknown as { analyticsApplyAll: ApplyCommand }).analyticsApplyAll(
        ...this.args(events.slice(i, i + EVENTS_PER_CALL)),
      );
    const results = (await pipe.exec()) ?? [];
    return results.flatMap(([err, r]) => {
      if (err) throw err;
      return (r as number[]).map((x) => x === 1);
    });
  }
}
