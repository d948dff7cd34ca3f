/**
 * The account state every authenticated request checks against its token (role, token version, supplier
 * approval), shared from Redis for AUTH_CACHE_TTL (issue 12: read from MySQL on every request it was half the
 * cost of a refused order in a flash sale).
 *
 * MySQL stays the authority. A change made through the API (password, role, approval) is written to MySQL and
 * then read back into the cache before the API answers, so the next request anywhere sees it; a change cannot
 * be overwritten by an older one: a reader fills an empty entry only (SET NX), and a writer's state replaces the
 * cached one only when it is not older (token version, then approval: both only ever grow). What the cache can
 * miss for at most AUTH_CACHE_TTL: a change made in MySQL by hand (an account deleted in SQL), or one whose
 * refresh failed because Redis did not answer (logged). Redis down: every request reads MySQL.
 *
 * Misses are read in batches (dataloader, no memoizing): the accounts that missed in the same tick are read with
 * one query. A flash sale's buyers arrive at once and mostly cold (their last request was more than
 * AUTH_CACHE_TTL ago): one primary-key read each had 200 buyers queueing for the pool before their 409.
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { logBestEffortFailure } from '../stores/errors';
import DataLoader from 'dataloader';
import { findAuthState, findAuthStates, ROLES, type AuthState, type Role } from './repository';

const key = (userId: string) => `auth:${userId}`;

/** `version|role|approved`, e.g. `3|supplier|1`. */
function encode(s: AuthState): string {
  return `${s.token_version}|${s.role}|${s.supplier_approved ? 1 : 0}`;
}

function decode(value: string): AuthState | undefined {
  const m = /^(\d+)\|(\w+)\|([01])$/.exec(value);
  if (!m || !ROLES.includes(m[2] as Role)) return undefined;
  return { token_version: Number(m[1]), role: m[2] as Role, supplier_approved: m[3] === '1' };
}

/** SET unless the cached state is newer (a higher token version, or the same with approval already given). */
const NEWER_WINS = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local cv, ca = string.match(cur, '^(%d+)|%w+|(%d)$')
  local nv, na = string.match(ARGV[1], '^(%d+)|%w+|(%d)$')
  if cv and (tonumber(cv) > tonumber(nv) or (tonumber(cv) == tonumber(nv) and tonumber(ca) > tonumber(na))) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

export class AuthStates {
  /** Cache misses of one tick, read from MySQL together; `cache: false`: each load reads anew. */
  private readonly misses: DataLoader<string, AuthState | null>;

  constructor(
    private readonly mysql: Knex,
    private readonly redis: Redis,
    /** AUTH_CACHE_TTL; 0 reads MySQL on every request. */
    private readonly ttlMs: number,
  ) {
    this.misses = new DataLoader(
      async (userIds) => {
        const found = await findAuthStates(this.mysql, userIds);
        return userIds.map((id) => found.get(id) ?? null);
      },
      { cache: false, maxBatchSize: 500 },
    );
  }

  /** The account's state, null when there is no such account (never cached: it is read from MySQL each time). */
  async get(userId: string): Promise<AuthState | null> {
    if (this.ttlMs <= 0) return findAuthState(this.mysql, userId);
    const cached = await this.redis.get(key(userId)).catch(() => null); // Redis down: MySQL answers
    const state = cached === null ? undefined : decode(cached);
    if (state) return state;
    const fresh = await this.misses.load(userId);
    if (fresh)
      this.redis
        .set(key(userId), encode(fresh), 'PX', this.ttlMs, 'NX')
        .catch((err) => logBestEffortFailure(err, 'auth state not cached', { user_id: userId }));
    return fresh;
  }

  /** After a committed change of the account (password, role, approval): its state read back from MySQL
   * replaces the cached one. Never throws: the change is made; a failed refresh is logged. */
  async refresh(userId: string): Promise<void> {
    if (this.ttlMs <= 0) return;
    try {
      const state = await findAuthState(this.mysql, userId);
      if (!state) await this.redis.del(key(userId));
      else await this.redis.eval(NEWER_WINS, 1, key(userId), encode(state), String(this.ttlMs));
    } catch (err) {
      logBestEffortFailure(
        err,
        'auth state not refreshed after a change: earlier tokens may work until AUTH_CACHE_TTL',
        { user_id: userId },
        'error',
      );
    }
  }
}
