/**
 * The auth state shared from Redis (users/auth-states.ts) on the real MySQL and Redis: read once from MySQL, then
 * from Redis; a change made through refresh() is seen at once and never replaced by an older state; a Redis that
 * does not answer leaves MySQL answering every request.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { createRedis } from '../../stores/redis/client';
import { AuthStates } from '../../users/auth-states';
import { createUser } from '../../users/repository';

const cfg = loadConfig(process.env);
const mysql = createMysql(cfg.MYSQL_URL, 2);
const redis = createRedis(cfg.REDIS_URL);
afterAll(async () => {
  await redis.quit();
  await mysql.destroy();
});

async function newUser(role: 'customer' | 'supplier' = 'customer'): Promise<string> {
  const u = await createUser(mysql, {
    name: 'Auth state',
    email: `as-${randomUUID()}@test.shopflow.dev`,
    password: 'a long enough password',
    role,
  });
  return u.user_id;
}
const bumpInMysql = (userId: string) =>
  mysql('users')
    .where({ user_id: userId })
    .update({ token_version: mysql.raw('token_version + 1') });

test('read once from MySQL, then shared from Redis with a TTL; a refresh after a change is seen at once', async () => {
  const states = new AuthStates(mysql, redis, 10_000);
  const userId = await newUser();
  expect(await states.get(userId)).toEqual({ role: 'customer', token_version: 0, supplier_approved: false });
  const ttl = await redis.pttl(`auth:${userId}`);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(10_000);

  // A change made in MySQL alone is not seen until the entry expires: what the TTL bounds.
  await bumpInMysql(userId);
  expect((await states.get(userId))?.token_version).toBe(0);
  // The API's writers refresh after the commit: the next read sees the new version.
  await states.refresh(userId);
  expect((await states.get(userId))?.token_version).toBe(1);
});

test('accounts that miss the cache together are read from MySQL with one query, each getting its own state', async () => {
  const states = new AuthStates(mysql, redis, 10_000);
  const customer = await newUser('customer');
  const supplier = await newUser('supplier');
  const gone = `u-${randomUUID()}`;
  let userReads = 0;
  const count = (q: { sql: string }) => {
    if (/from `users`/i.test(q.sql)) userReads += 1;
  };
  mysql.on('query', count);
  try {
    const got = await Promise.all([customer, supplier, gone, customer].map((id) => states.get(id)));
    expect(got).toEqual([
      { role: 'customer', token_version: 0, supplier_approved: false },
      { role: 'supplier', token_version: 0, supplier_approved: false },
      null,
      { role: 'customer', token_version: 0, supplier_approved: false },
    ]);
    expect(userReads).toBe(1);
  } finally {
    mysql.off('query', count);
  }
});

test('an older state never replaces a newer one (a slow reader, a late writer)', async () => {
  const states = new AuthStates(mysql, redis, 10_000);
  const userId = await newUser('supplier');
  await mysql('users')
    .where({ user_id: userId })
    .update({ supplier_approved_at: mysql.fn.now(3) });
  // A writer already put version 2 (approved) there; a writer that read version 1 arrives late.
  await redis.set(`auth:${userId}`, '2|supplier|1', 'PX', 10_000);
  await mysql('users').where({ user_id: userId }).update({ token_version: 1 }); // what the late writer read
  await states.refresh(userId);
  expect(await redis.get(`auth:${userId}`)).toBe('2|supplier|1');
  // A reader that misses fills an empty entry only: it does not overwrite either.
  expect(await states.get(userId)).toEqual({ role: 'supplier', token_version: 2, supplier_approved: true });
  // A newer state does replace it.
  await mysql('users').where({ user_id: userId }).update({ token_version: 3 });
  await states.refresh(userId);
  expect(await redis.get(`auth:${userId}`)).toBe('3|supplier|1');
});

test('an account deleted and refreshed has no state; a TTL of 0 reads MySQL every time', async () => {
  const states = new AuthStates(mysql, redis, 10_000);
  const userId = await newUser();
  await states.get(userId);
  await mysql('users').where({ user_id: userId }).delete();
  await states.refresh(userId);
  expect(await states.get(userId)).toBeNull();
  expect(await redis.exists(`auth:${userId}`)).toBe(0);

  const uncached = new AuthStates(mysql, redis, 0);
  const other = await newUser();
  expect((await uncached.get(other))?.token_version).toBe(0);
  await bumpInMysql(other);
  expect((await uncached.get(other))?.token_version).toBe(1);
  expect(await redis.exists(`auth:${other}`)).toBe(0);
});

test('Redis down: every read comes from MySQL, and a change is still seen', async () => {
  const deadRedis = createRedis('redis://127.0.0.1:1', { offlineQueue: false, commandTimeoutMs: 200 });
  deadRedis.on('error', () => undefined);
  try {
    const states = new AuthStates(mysql, deadRedis, 10_000);
    const userId = await newUser();
    expect((await states.get(userId))?.token_version).toBe(0);
    await bumpInMysql(userId);
    await states.refresh(userId); // logged, never thrown
    expect((await states.get(userId))?.token_version).toBe(1);
  } finally {
    deadRedis.disconnect();
  }
});
