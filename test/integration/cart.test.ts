/**
 * Cart and wishlist through the API: lines show the catalog's current name and price, stock shortfalls are
 * flagged (not dropped), concurrent changes lose nothing, and checkout places one order through the saga,
 * emptying the cart only when the order is created.
 */
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, stockOf, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';

let p: Platform;
let alice: TestUser;

beforeAll(async () => {
  p = await startPlatform();
  alice = await makeUser(p.stores.mysql, p.deps.tokens);
});
afterAll(async () => {
  await p?.stop();
});

const cart = (u: TestUser) => `/users/${u.userId}/cart`;
const wishlist = (u: TestUser) => `/users/${u.userId}/wishlist`;

async function freshUser(): Promise<TestUser> {
  return makeUser(p.stores.mysql, p.deps.tokens);
}

describe('cart', () => {
  test('an empty cart is an empty array', async () => {
    const r = await call(p.baseUrl, 'GET', cart(alice), { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual([]);
  });

  test('adding lines, adding again sums, and the catalog is the authority on name and price', async () => {
    const u = await freshUser();
    const tv = await makeItem(p.stores.mysql, { stock: 10, price: 899.99, name: 'Sony 65 TV' });
    let r = await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: tv, quantity: 1 } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual([
      expect.objectContaining({
        item_id: tv,
        name: 'Sony 65 TV',
        price: 899.99,
        quantity: 1,
        stock: 10,
        available: true,
        line_total: 899.99,
      }),
    ]);
    r = await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: tv, quantity: 2 } });
    expect(r.body[0].quantity).toBe(3);
    // quantity defaults to 1
    const cable = await makeItem(p.stores.mysql, { stock: 5, price: 5 });
    r = await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: cable } });
    expect(r.body.map((l: { item_id: string; quantity: number }) => [l.item_id, l.quantity])).toEqual([
      [tv, 3],
      [cable, 1],
    ]);

    await p.stores.mysql('items').where({ item_id: tv }).update({ price: 799.5, name: 'Sony 65 TV (2026)' });
    r = await call(p.baseUrl, 'GET', cart(u), { token: u.token });
    expect(r.body[0]).toMatchObject({ name: 'Sony 65 TV (2026)', price: 799.5, line_total: 2398.5 });
  });

  test('a line the stock no longer covers is flagged, not dropped', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 5 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: item, quantity: 3 } });
    await p.stores.mysql('items').where({ item_id: item }).update({ stock: 2 });
    let r = await call(p.baseUrl, 'GET', cart(u), { token: u.token });
    expect(r.body).toEqual([expect.objectContaining({ item_id: item, quantity: 3, stock: 2, available: false })]);
    await p.stores.mysql('items').where({ item_id: item }).update({ stock: 0 });
    r = await call(p.baseUrl, 'GET', cart(u), { token: u.token });
    expect(r.body).toEqual([expect.objectContaining({ item_id: item, stock: 0, available: false })]);
    await p.stores.mysql('items').where({ item_id: item }).update({ stock: 3 });
    r = await call(p.baseUrl, 'GET', cart(u), { token: u.token });
    expect(r.body[0].available).toBe(true);
  });

  test('changing a quantity and removing a line; lines not in the cart are 404', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 50 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: item, quantity: 1 } });
    let r = await call(p.baseUrl, 'PUT', `${cart(u)}/${item}`, { token: u.token, body: { quantity: 7 } });
    expect(r.status).toBe(200);
    expect(r.body[0].quantity).toBe(7);
    r = await call(p.baseUrl, 'DELETE', `${cart(u)}/${item}`, { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual([]);
    r = await call(p.baseUrl, 'DELETE', `${cart(u)}/${item}`, { token: u.token });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
    r = await call(p.baseUrl, 'PUT', `${cart(u)}/${item}`, { token: u.token, body: { quantity: 2 } });
    expect(r.status).toBe(404);
  });

  test('an unknown item is 404 in the error format', async () => {
    const r = await call(p.baseUrl, 'POST', cart(alice), {
      token: alice.token,
      body: { item_id: 'no-such-item', quantity: 1 },
    });
    expect(r.status).toBe(404);
    expect(r.body).toEqual({
      error: { code: 'item_not_found', message: expect.any(String), details: { item_ids: ['no-such-item'] } },
    });
  });

  test.each([
    ['quantity 0', { quantity: 0 }],
    ['negative quantity', { quantity: -1 }],
    ['fractional quantity', { quantity: 1.5 }],
    ['quantity as a string', { quantity: '2' }],
    ['quantity over the limit', { quantity: 1001 }],
    ['an operator object as the item id', { item_id: { $gt: '' } }],
    ['an unknown field', { extra: true }],
  ])('invalid input is 400: %s', async (_name, patch) => {
    const item = await makeItem(p.stores.mysql, { stock: 1 });
    const r = await call(p.baseUrl, 'POST', cart(alice), {
      token: alice.token,
      body: { item_id: item, quantity: 1, ...patch },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(Array.isArray(r.body.error.details)).toBe(true);
  });

  test('concurrent adds lose nothing (one line, many adds; many lines at once)', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 100 });
    const adds = await Promise.all(
      Array.from({ length: 15 }, () =>
        call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: item, quantity: 1 } }),
      ),
    );
    expect(adds.map((r) => r.status)).toEqual(Array(15).fill(201));
    const others = await Promise.all(Array.from({ length: 8 }, () => makeItem(p.stores.mysql, { stock: 1 })));
    await Promise.all(
      others.map((id) => call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: id, quantity: 2 } })),
    );
    const r = await call(p.baseUrl, 'GET', cart(u), { token: u.token });
    expect(r.body.find((l: { item_id: string }) => l.item_id === item).quantity).toBe(15);
    expect(r.body).toHaveLength(9);
  });
});

describe('wishlist', () => {
  test('add (twice is harmless), read with current prices, remove', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 0, price: 42, name: 'Wished' });
    let r = await call(p.baseUrl, 'POST', wishlist(u), { token: u.token, body: { item_id: item } });
    expect(r.status).toBe(201);
    r = await call(p.baseUrl, 'POST', wishlist(u), { token: u.token, body: { item_id: item } });
    expect(r.status).toBe(200);
    r = await call(p.baseUrl, 'GET', wishlist(u), { token: u.token });
    expect(r.body).toEqual([
      expect.objectContaining({ item_id: item, name: 'Wished', price: 42, stock: 0, available: false }),
    ]);
    r = await call(p.baseUrl, 'DELETE', `${wishlist(u)}/${item}`, { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual([]);
    r = await call(p.baseUrl, 'DELETE', `${wishlist(u)}/${item}`, { token: u.token });
    expect(r.status).toBe(404);
  });

  test('an unknown item is 404; an operator object is 400', async () => {
    let r = await call(p.baseUrl, 'POST', wishlist(alice), { token: alice.token, body: { item_id: 'nope-nope' } });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('item_not_found');
    r = await call(p.baseUrl, 'POST', wishlist(alice), { token: alice.token, body: { item_id: { $ne: null } } });
    expect(r.status).toBe(400);
  });
});

describe('checkout', () => {
  test('orders the whole cart through the saga and empties the cart', async () => {
    const u = await freshUser();
    const a = await makeItem(p.stores.mysql, { stock: 5, price: 10 });
    const b = await makeItem(p.stores.mysql, { stock: 5, price: 2.5 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: a, quantity: 2 } });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: b, quantity: 1 } });
    const r = await call(p.baseUrl, 'POST', `${cart(u)}/checkout`, { token: u.token, body: {} });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      user_id: u.userId,
      status: 'created',
      total_price: 22.5,
      payment_method: 'pm_card_visa',
    });
    expect(r.body.items).toEqual(
      expect.arrayContaining([
        { item_id: a, quantity: 2, price: 10 },
        { item_id: b, quantity: 1, price: 2.5 },
      ]),
    );
    expect(await stockOf(p.stores.mysql, a)).toBe(3);
    expect((await call(p.baseUrl, 'GET', cart(u), { token: u.token })).body).toEqual([]);
    // The saga goes on: the default test card pays.
    await eventually(
      async () =>
        (await call(p.baseUrl, 'GET', `/orders/${r.body.order_id}`, { token: u.token })).body.status === 'placed',
      30_000,
    );
  });

  test('out of stock: 409 naming the short line, the cart and the stock stay', async () => {
    const u = await freshUser();
    const plenty = await makeItem(p.stores.mysql, { stock: 10 });
    const scarce = await makeItem(p.stores.mysql, { stock: 1 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: plenty, quantity: 1 } });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: scarce, quantity: 2 } });
    const r = await call(p.baseUrl, 'POST', `${cart(u)}/checkout`, { token: u.token });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('out_of_stock');
    expect(r.body.error.details.items).toEqual([{ item_id: scarce, requested: 2, available: 1 }]);
    const after = await call(p.baseUrl, 'GET', cart(u), { token: u.token });
    expect(after.body.map((l: { item_id: string; quantity: number }) => [l.item_id, l.quantity])).toEqual([
      [plenty, 1],
      [scarce, 2],
    ]);
    expect(await stockOf(p.stores.mysql, plenty)).toBe(10);
    expect(await stockOf(p.stores.mysql, scarce)).toBe(1);
  });

  test('an empty cart is 409 cart_empty', async () => {
    const u = await freshUser();
    const r = await call(p.baseUrl, 'POST', `${cart(u)}/checkout`, { token: u.token });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('cart_empty');
  });

  test('Idempotency-Key: the same key again answers the same order and orders nothing more', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 10 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: item, quantity: 2 } });
    const headers = { 'idempotency-key': `cart-${u.userId}` };
    const first = await call(p.baseUrl, 'POST', `${cart(u)}/checkout`, {
      token: u.token,
      headers,
      body: { payment_method: 'pm_card_noResponse' },
    });
    expect(first.status).toBe(201);
    const again = await call(p.baseUrl, 'POST', `${cart(u)}/checkout`, {
      token: u.token,
      headers,
      body: { payment_method: 'pm_card_noResponse' },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.order_id).toBe(first.body.order_id);
    expect(await stockOf(p.stores.mysql, item)).toBe(8);
  });

  test('a malformed Idempotency-Key is 400 and orders nothing', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 10 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: item, quantity: 1 } });
    for (const key of ['k'.repeat(256), 'tab\tinside', 'caf\u00e9']) {
      const r = await call(p.baseUrl, 'POST', `${cart(u)}/checkout`, {
        token: u.token,
        headers: { 'idempotency-key': key },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
    }
    expect(await stockOf(p.stores.mysql, item)).toBe(10);
    expect((await call(p.baseUrl, 'GET', cart(u), { token: u.token })).body).toHaveLength(1);
  });

  test('a double-submitted checkout orders the cart once', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 10 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: item, quantity: 1 } });
    const rs = await Promise.all(
      [1, 2, 3].map(() => call(p.baseUrl, 'POST', `${cart(u)}/checkout`, { token: u.token })),
    );
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    for (const r of rs.filter((x) => x.status !== 201))
      expect(['checkout_in_progress', 'cart_empty']).toContain(r.body.error.code);
    expect(await stockOf(p.stores.mysql, item)).toBe(9);
  });

  test('invalid payment method is 400 and leaves the cart', async () => {
    const u = await freshUser();
    const item = await makeItem(p.stores.mysql, { stock: 10 });
    await call(p.baseUrl, 'POST', cart(u), { token: u.token, body: { item_id: item, quantity: 1 } });
    const r = await call(p.baseUrl, 'POST', `${cart(u)}/checkout`, {
      token: u.token,
      body: { payment_method: { $gt: '' } },
    });
    expect(r.status).toBe(400);
    expect((await call(p.baseUrl, 'GET', cart(u), { token: u.token })).body).toHaveLength(1);
  });
});
