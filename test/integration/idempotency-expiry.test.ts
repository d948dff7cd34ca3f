/** Idempotency-Keys expire (IDEMPOTENCY_KEY_TTL, 24 h by default): an old key places a new order and old keys
 * are deleted (issue 13 item 6, review L9). The key's age is set back in the table to stand for a day passing. */
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser } from '../support/fixtures';
import { call } from '../support/http';
import { expireKeys } from '../../orders/idempotency-keys';

let p: Platform;
beforeAll(async () => {
  p = await startPlatform({ worker: false });
});
afterAll(async () => {
  await p?.stop();
});

test('a key answers its order again within the TTL, and places a new order once it expired', async () => {
  const u = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 10 });
  const place = () =>
    call(p.baseUrl, 'POST', '/orders', {
      token: u.token,
      headers: { 'idempotency-key': 'k-expiry' },
      body: { user_id: u.userId, items: [{ item_id: item, quantity: 1 }], payment_method: 'pm_card_noResponse' },
    });
  const first = await place();
  expect(first.status).toBe(201);
  const again = await place();
  expect([again.status, again.body.order_id]).toEqual([200, first.body.order_id]);

  await p.stores
    .mysql('idempotency_keys')
    .where({ user_id: u.userId })
    .update({ created_at: new Date(Date.now() - 25 * 3_600_000) });
  const later = await place();
  expect(later.status).toBe(201);
  expect(later.body.order_id).not.toBe(first.body.order_id);
  expect(await p.stores.mysql('idempotency_keys').where({ user_id: u.userId }).count({ n: '*' })).toEqual([{ n: 1 }]);
});

test("the sweeper's pass deletes anyone's expired keys and keeps fresh ones", async () => {
  const [a, b] = [await makeUser(p.stores.mysql, p.deps.tokens), await makeUser(p.stores.mysql, p.deps.tokens)];
  const old = new Date(Date.now() - 25 * 3_600_000);
  await p.stores.mysql('idempotency_keys').insert([
    { user_id: a.userId, idem_key: 'old', request_hash: 'x', order_id: 'o-old', created_at: old },
    { user_id: b.userId, idem_key: 'fresh', request_hash: 'x', order_id: 'o-fresh' },
  ]);
  await expireKeys(p.stores.mysql, p.cfg.IDEMPOTENCY_KEY_TTL);
  const left = await p.stores.mysql('idempotency_keys').whereIn('user_id', [a.userId, b.userId]).pluck('idem_key');
  expect(left).toEqual(['fresh']);
});
