/**
 * Per-buyer purchase limits against stock hoarding: an unpaid order holds its stock until
 * it expires, and sign-up is open, so without limits one account can hold a flash sale's whole stock and
 * re-place after each expiry. Checked in OrderService.place() before anything is reserved:
 *  - live unpaid orders (`created`) per buyer: at most PURCHASE_MAX_UNPAID_ORDERS (429: pay or wait);
 *  - units of one item per buyer across live orders (created, placed, in_transit): at most
 *    PURCHASE_MAX_UNITS_PER_ITEM (409);
 *  - a cool-down of PURCHASE_EXPIRED_COOLDOWN after one of the buyer's orders expired unpaid (429). It reads the
 *    expired order's row, so it holds while that row is in MySQL (the late-payment window, 1 h by default).
 * Refusals are `purchase_limit` errors whose `details.limit` names the limit. Admins are exempt.
 *
 * Concurrency: the check and the reservation run under a per-buyer lock in Redis (SET NX PX, released by its
 * token), so two parallel placements of one buyer run one after the other and the second counts the first's
 * order: they cannot both pass a limit. The lock ends with the reservation's commit (what the next one counts);
 * the saga starts after it (OrderService.place). A buyer's second placement waits for the first (up to LOCK_WAIT_MS,
 * then 429 `concurrent_placements`). If Redis cannot be reached the limits are still checked, without the lock
 * (MySQL stays the authority for stock; only this per-buyer race reopens while Redis is down).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { DomainError } from '../lib/errors';
import type { Config } from '../lib/config';
import { logger } from '../lib/logger';
import type { OrderLine } from './model';

export type PurchaseLimitSettings = Pick<
  Config,
  'PURCHASE_MAX_UNPAID_ORDERS' | 'PURCHASE_MAX_UNITS_PER_ITEM' | 'PURCHASE_EXPIRED_COOLDOWN'
>;

const lockKey = (userId: string) => `purchase-lock:${userId}`;
/** Far longer than a reservation can take (the lock is released once it committed). */
const LOCK_TTL_MS = 15_000;
const LOCK_WAIT_MS = 5_000;
const LOCK_POLL_MS = 20;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const LIVE = ['created', 'placed', 'in_transit'];

interface Holdings {
  unpaid: number;
  /** Microseconds since one of the buyer's orders expired unpaid (the latest); null: none did. */
  sinceExpiredUs: number | null;
  /** Units held in live orders, by item (items the buyer holds none of are absent). */
  held: Map<string, number>;
}

// A limit on what the buyer holds is a conflict (409); one that passes with time is `limited` (429).
const refused = (kind: 'conflict' | 'limited', limit: string, message: string, details: Record<string, unknown> = {}) =>
  new DomainError(kind, 'purchase_limit', message, { limit, ...details });

export class PurchaseLimits {
  constructor(
    private readonly mysql: Knex,
    private readonly redis: Redis,
    private readonly cfg: PurchaseLimitSettings,
  ) {}

  /** Runs `place` (which reserves) once the buyer is within every limit, holding the buyer's lock until it is done.
   * `isReplay` (checked under the lock) lets a request whose Idempotency-Key already made an order through to
   * its replay, whatever the limits say now. */
  async enforce<T>(
    userId: string,
    lines: OrderLine[],
    isReplay: () => Promise<boolean>,
    place: () => Promise<T>,
  ): Promise<T> {
    const release = await this.lock(userId);
    try {
      if (!(await isReplay())) await this.check(userId, lines);
      return await place();
    } finally {
      // Not awaited: the answer does not wait a Redis round trip for it. The buyer's next placement, if it comes
      // first, waits one LOCK_POLL_MS; a release that fails leaves the lock to expire (logged).
      void release();
    }
  }

  /** Throws the first limit the buyer would exceed with these lines. */
  async check(userId: string, lines: OrderLine[]): Promise<void> {
    const {
      PURCHASE_MAX_UNPAID_ORDERS: maxUnpaid,
      PURCHASE_MAX_UNITS_PER_ITEM: maxUnits,
      PURCHASE_EXPIRED_COOLDOWN: cooldownMs,
    } = this.cfg;
    const { unpaid, sinceExpiredUs, held } = await this.holdings(userId, lines);
    if (unpaid >= maxUnpaid) {
      throw refused(
        'limited',
        'unpaid_orders',
        `you have ${unpaid} unpaid orders (at most ${maxUnpaid}): pay or cancel one first`,
        { max: maxUnpaid, current: unpaid },
      );
    }
    if (cooldownMs > 0 && sinceExpiredUs !== null) {
      const leftMs = cooldownMs - sinceExpiredUs / 1000;
      if (leftMs > 0) {
        throw refused(
          'limited',
          'expired_order_cooldown',
          'an order of yours expired unpaid a moment ago: wait before ordering again',
          { retry_after_seconds: Math.ceil(leftMs / 1000) },
        );
      }
    }
    const over = lines
      .map((l) => ({ item_id: l.item_id, requested: l.quantity, held: held.get(l.item_id) ?? 0 }))
      .filter((l) => l.held + l.requested > maxUnits);
    if (over.length > 0) {
      throw refused(
        'conflict',
        'units_per_item',
        `at most ${maxUnits} units of one item per customer across live orders`,
        { max: maxUnits, items: over },
      );
    }
  }

  /** What the limits look at, in one query (a round trip each is what a winner of a flash sale waits on): the
   * buyer's unpaid orders, how long ago one expired unpaid (null: none did), and the units of these items the
   * buyer holds in live orders. */
  private async holdings(userId: string, lines: OrderLine[]): Promise<Holdings> {
    const ids = lines.map((l) => l.item_id);
    const [[row]] = await this.mysql.raw(
      `SELECT (SELECT COUNT(*) FROM orders WHERE user_id = ? AND status = 'created') AS unpaid,
              (SELECT TIMESTAMPDIFF(MICROSECOND, MAX(updated_at), NOW(3)) FROM orders
                WHERE user_id = ? AND status = 'canceled' AND cancel_reason = 'payment_timeout') AS since_expired_us,
              (SELECT JSON_OBJECTAGG(h.item_id, h.held) FROM
                (SELECT oi.item_id, SUM(oi.quantity) AS held FROM orders o
                   JOIN order_items oi ON oi.order_id = o.order_id
                  WHERE o.user_id = ? AND o.status IN (${LIVE.map(() => '?').join(', ')})
                    AND oi.item_id IN (${ids.map(() => '?').join(', ')})
                  GROUP BY oi.item_id) h) AS held`,
      [userId, userId, userId, ...LIVE, ...ids],
    );
    // MariaDB sends a JSON value as text, MySQL 8 as JSON (mysql2 parses it); NULL when the buyer holds none.
    const held: Record<string, string | number> =
      typeof row.held === 'string' ? JSON.parse(row.held) : (row.held ?? {});
    return {
      unpaid: Number(row.unpaid),
      sinceExpiredUs: row.since_expired_us === null ? null : Number(row.since_expired_us),
      held: new Map(Object.entries(held).map(([id, n]) => [id, Number(n)])),
    };
  }

  /** The buyer's lock; resolves to its release. Waits for a placement of the same buyer in flight. */
  private async lock(userId: string): Promise<() => Promise<void>> {
    const key = lockKey(userId);
    const token = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    try {
      while ((await this.redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
        if (Date.now() > deadline)
          throw refused(
            'limited',
            'concurrent_placements',
            'another order of yours is being placed; try again in a moment',
          );
        await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
      }
    } catch (err) {
      if (err instanceof DomainError) throw err;
      logger.warn({ err, userId }, 'purchase lock unavailable (Redis); checking limits without it');
      return async () => undefined;
    }
    return async () => {
      await this.redis
        .eval(RELEASE, 1, key, token)
        .catch((err) => logger.warn({ err, userId }, 'purchase lock not released; it expires'));
    };
  }
}
