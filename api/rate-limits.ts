import rateLimit from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Redis } from 'ioredis';
import type { Config } from '../lib/config';
import { errorBody } from './errors';

/**
 * The counters of a limiter, in Redis (rate-limit-redis), so every API process shares one budget per client
 * and a restart does not reset it. Limiters with the same name share their counters (order placement through
 * POST /orders and cart checkout is one budget). Pass the result as `store` with `passOnStoreError: true`:
 * while Redis is down requests are let through rather than refused (the purchase limits still hold).
 */
export function sharedStore(redis: Redis, cfg: Pick<Config, 'RATE_LIMIT_REDIS_PREFIX'>, name: string): RedisStore {
  return new RedisStore({
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    prefix: `${cfg.RATE_LIMIT_REDIS_PREFIX}${name}:`,
  });
}

/** Order placements per buyer and minute (POST /orders, cart checkout). The routes need a token, so the
 * limiter is keyed by user id; requests without one are refused before they count. */
export function orderPlacementLimit(cfg: Pick<Config, 'RATE_LIMIT_ORDERS' | 'RATE_LIMIT_REDIS_PREFIX'>, redis: Redis) {
  return rateLimit({
    store: sharedStore(redis, cfg, 'orders'),
    passOnStoreError: true,
    windowMs: 60_000,
    limit: cfg.RATE_LIMIT_ORDERS,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => req.principal?.userId ?? 'anonymous',
    skip: (req) => !req.principal,
    validate: { keyGeneratorIpFallback: false }, // keyed by user id, not by IP
    handler: (_req, res) =>
      void res.status(429).json(errorBody('rate_limited', 'too many orders in a minute; slow down')),
  });
}
