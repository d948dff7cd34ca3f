/**
 * The authorization matrix of every route that belongs to a user: the owner and an admin get through; another
 * customer and a supplier are refused (403; for an order, 404, so its existence is not revealed); no token,
 * a malformed header, a forged or an expired token is 401. Every refusal is in the error format.
 */
import jwt from 'jsonwebtoken';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call } from '../support/http';

let p: Platform;
let owner: TestUser;
let other: TestUser;
let supplier: TestUser;
let admin: TestUser;
let item: string;
let orderId: string;

beforeAll(async () => {
  p = await startPlatform();
  const { mysql } = p.stores;
  [owner, other, supplier, admin] = await Promise.all([
    makeUser(mysql, p.deps.tokens, 'customer'),
    makeUser(mysql, p.deps.tokens, 'customer'),
    makeUser(mysql, p.deps.tokens, 'supplier'),
    makeUser(mysql, p.deps.tokens, 'admin'),
  ]);
  item = await makeItem(mysql, { stock: 1000 });
  const placed = await call(p.baseUrl, 'POST', '/orders', {
    token: owner.token,
    body: { user_id: owner.userId, items: [{ item_id: item, quantity: 1 }], payment_method: 'pm_card_noResponse' },
  });
  expect(placed.status).toBe(201);
  orderId = placed.body.order_id;
});
afterAll(async () => {
  await p?.stop();
});

type Who = 'owner' | 'other' | 'supplier' | 'admin';
interface RouteCase {
  name: string;
  method: string;
  path: () => string;
  body?: () => unknown;
  /** Puts the owner's data in the state the call needs (run before each allowed call). */
  prepare?: () => Promise<void>;
  ok: number;
  /** What another customer or a supplier gets. */
  denied?: number;
}

const addLine = async () => {
  await call(p.baseUrl, 'POST', `/users/${owner.userId}/cart`, {
    token: owner.token,
    body: { item_id: item, quantity: 1 },
  });
};
const addWish = async () => {
  await call(p.baseUrl, 'POST', `/users/${owner.userId}/wishlist`, { token: owner.token, body: { item_id: item } });
};

const ROUTES: RouteCase[] = [
  { name: 'GET user', method: 'GET', path: () => `/users/${owner.userId}`, ok: 200 },
  { name: 'GET wishlist', method: 'GET', path: () => `/users/${owner.userId}/wishlist`, ok: 200 },
  {
    name: 'POST wishlist',
    method: 'POST',
    path: () => `/users/${owner.userId}/wishlist`,
    body: () => ({ item_id: item }),
    ok: 200,
    prepare: addWish,
  },
  {
    name: 'DELETE wishlist line',
    method: 'DELETE',
    path: () => `/users/${owner.userId}/wishlist/${item}`,
    ok: 200,
    prepare: addWish,
  },
  { name: 'GET cart', method: 'GET', path: () => `/users/${owner.userId}/cart`, ok: 200 },
  {
    name: 'POST cart',
    method: 'POST',
    path: () => `/users/${owner.userId}/cart`,
    body: () => ({ item_id: item, quantity: 1 }),
    ok: 201,
  },
  {
    name: 'PUT cart line',
    method: 'PUT',
    path: () => `/users/${owner.userId}/cart/${item}`,
    body: () => ({ quantity: 2 }),
    ok: 200,
    prepare: addLine,
  },
  {
    name: 'DELETE cart line',
    method: 'DELETE',
    path: () => `/users/${owner.userId}/cart/${item}`,
    ok: 200,
    prepare: addLine,
  },
  {
    name: 'POST cart checkout',
    method: 'POST',
    path: () => `/users/${owner.userId}/cart/checkout`,
    body: () => ({ payment_method: 'pm_card_noResponse' }),
    ok: 201,
    prepare: addLine,
  },
  { name: 'GET order', method: 'GET', path: () => `/orders/${orderId}`, ok: 200, denied: 404 },
  {
    name: 'POST order',
    method: 'POST',
    path: () => '/orders',
    body: () => ({
      user_id: owner.userId,
      items: [{ item_id: item, quantity: 1 }],
      payment_method: 'pm_card_noResponse',
    }),
    ok: 201,
  },
];

const tokenOf: Record<Who, () => string> = {
  owner: () => owner.token,
  other: () => other.token,
  supplier: () => supplier.token,
  admin: () => admin.token,
};

describe.each(ROUTES)('$name', (rc) => {
  test.each(['owner', 'admin'] as Who[])('%s is allowed', async (who) => {
    await rc.prepare?.();
    const r = await call(p.baseUrl, rc.method, rc.path(), { token: tokenOf[who](), body: rc.body?.() });
    expect({ status: r.status, body: r.body }).toEqual({ status: rc.ok, body: expect.anything() });
  });

  test.each(['other', 'supplier'] as Who[])('%s is refused', async (who) => {
    await rc.prepare?.();
    const r = await call(p.baseUrl, rc.method, rc.path(), { token: tokenOf[who](), body: rc.body?.() });
    expect(r.status).toBe(rc.denied ?? 403);
    expect(r.body).toEqual({
      error: { code: rc.denied === 404 ? 'not_found' : 'forbidden', message: expect.any(String) },
    });
  });

  test('no token, a malformed header, a forged or an expired token: 401', async () => {
    const forged = jwt.sign({ role: 'admin' }, 'not-the-server-secret-at-all', {
      subject: owner.userId,
      expiresIn: 600,
    });
    const expired = jwt.sign({ role: 'customer', exp: Math.floor(Date.now() / 1000) - 10 }, p.cfg.JWT_SECRET, {
      subject: owner.userId,
    });
    const none = jwt.sign({ role: 'admin', sub: owner.userId }, '', { algorithm: 'none' });
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Basic abc' },
      { authorization: `Bearer ${forged}` },
      { authorization: `Bearer ${expired}` },
      { authorization: `Bearer ${none}` },
      { authorization: 'Bearer ' },
    ];
    for (const headers of variants) {
      const r = await call(p.baseUrl, rc.method, rc.path(), { headers, body: rc.body?.() });
      expect({ headers, status: r.status }).toEqual({ headers, status: 401 });
      expect(r.body.error.code).toBe('unauthorized');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });
});

test('cancel: the buyer and an admin may cancel; another customer gets 404, a supplier of nothing in it 404', async () => {
  const place = async () =>
    (
      await call(p.baseUrl, 'POST', '/orders', {
        token: owner.token,
        body: { user_id: owner.userId, items: [{ item_id: item, quantity: 1 }], payment_method: 'pm_card_noResponse' },
      })
    ).body.order_id as string;
  const o1 = await place();
  expect((await call(p.baseUrl, 'POST', `/orders/${o1}/cancel`, { token: other.token })).status).toBe(404);
  expect((await call(p.baseUrl, 'POST', `/orders/${o1}/cancel`, { token: supplier.token })).status).toBe(404);
  expect((await call(p.baseUrl, 'POST', `/orders/${o1}/cancel`)).status).toBe(401);
  const byOwner = await call(p.baseUrl, 'POST', `/orders/${o1}/cancel`, { token: owner.token });
  expect(byOwner.status).toBe(200);
  expect(byOwner.body.status).toBe('canceled');
  const o2 = await place();
  const byAdmin = await call(p.baseUrl, 'POST', `/orders/${o2}/cancel`, { token: admin.token });
  expect(byAdmin.status).toBe(200);
});

test('a customer cannot place an order for someone else', async () => {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: other.token,
    body: { user_id: owner.userId, items: [{ item_id: item, quantity: 1 }] },
  });
  expect(r.status).toBe(403);
});

test("an admin reaching an unknown user's cart gets 404", async () => {
  const r = await call(p.baseUrl, 'GET', '/users/u-nobody-at-all/cart', { token: admin.token });
  expect(r.status).toBe(404);
  expect(r.body.error.code).toBe('not_found');
});

test('401 comes before input validation (no token and a bad body)', async () => {
  const r = await call(p.baseUrl, 'POST', `/users/${owner.userId}/cart`, { body: { item_id: { $gt: '' } } });
  expect(r.status).toBe(401);
});
