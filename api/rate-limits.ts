import rateLimit from 'express-rate-limit';
import type { Config } from '../lib/config';
import { errorBody } from './errors';

/** Order placements per buyer and minute (POST /orders, cart checkout). The routes need a token, so the
 * limiter is keyed by user id; requests without one are refused before they count. */
export function orderPlacementLimit(cfg: Pick<Config, 'RATE_LIMIT_ORDERS'>) {
  return rateLimit({
    windowMs: 60_000,
    limit: cfg.RATE_LIMIT_ORDERS,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => req.principal?.userId ?? 'anonymous',
    skip: (req) => !req.principal,
    validate: { keyGeneratorIpFallback: false }, // keyed by user id, not by IP
    handler: (_req, res) => void res.status(429).json(errorBody('rate_limited', 'too many orders in a minute; slow down')),
  });
}
