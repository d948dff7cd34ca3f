/**
 * The authorization matrix, generated from /openapi.json: every operation of the document is called by six
 * principals (anonymous, the customer who owns the resources, another customer, the supplier of the item in
 * them, another supplier, an admin) with a valid request, and each answer must be the status in MATRIX. An
 * operation of the document without a row fails the test, so a new route cannot ship without its row.
 */
import { randomUUID } from 'node:crypto';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually, TEST_ADDRESS, TEST_SHIPMENT } from '../support/http';
import { detailsQuery, stateQuery } from '../../orders/saga-messages';

type Who = 'anonymous' | 'customer' | 'otherCustomer' | 'supplier' | 'otherSupplier' | 'admin';
const WHO: Who[] = ['anonymous', 'customer', 'otherCustomer', 'supplier', 'otherSupplier', 'admin'];
/** Expected status per principal, in WHO's order. */
type Row = [number, number, number, number, number, number];

const ANYONE = (s: number): Row => [s, s, s, s, s, s];
const OWNER_OR_ADMIN = (s: number): Row => [401, s, 403, 403, 403, s];
const ADMIN_ONLY = (s: number): Row => [401, 403, 403, 403, 403, s];

const MATRIX: Record<string, Row> = {
  'POST /payments/webhook': ANYONE(401), // unsigned: the gateway's signature is the only credential
  'GET /healthz': ANYONE(200),
  'GET /readyz': ANYONE(200),
  'GET /metrics': ADMIN_ONLY(200),
  'POST /auth/register': ANYONE(201),
  'POST /auth/login': ANYONE(200),
  'POST /orders': [401, 201, 403, 403, 403, 201],
  'GET /orders/{id}': [401, 200, 404, 200, 404, 200], // a supplier of one of its lines sees it; others 404
  'POST /orders/{id}/cancel': [401, 200, 404, 403, 404, 200],
  // Operators' actions on one order's saga (admins only; the saga's own refusal is a 409).
  'GET /admin/orders/{id}/details': ADMIN_ONLY(200),
  'GET /admin/orders/{id}/history': ADMIN_ONLY(200),
  'POST /admin/orders/{id}/force-cancel': ADMIN_ONLY(200),
  'POST /admin/orders/{id}/payment-window': ADMIN_ONLY(200),
  'POST /admin/orders/{id}/retry-payment': ADMIN_ONLY(200),
  'POST /admin/orders/{id}/manual-refund': ADMIN_ONLY(409), // only for an order whose refund the gateway refused
  'POST /orders/{id}/ship': [401, 403, 404, 200, 404, 200],
  'POST /orders/{id}/deliver': [401, 403, 404, 200, 404, 200],
  'GET /users/{id}/orders': OWNER_OR_ADMIN(200),
  'GET /users/{id}/wishlist': OWNER_OR_ADMIN(200),
  'POST /users/{id}/wishlist': OWNER_OR_ADMIN(200),
  'DELETE /users/{id}/wishlist/{item_id}': OWNER_OR_ADMIN(200),
  'GET /users/{id}/cart': OWNER_OR_ADMIN(200),
  'POST /users/{id}/cart': OWNER_OR_ADMIN(201),
  'PUT /users/{id}/cart/{item_id}': OWNER_OR_ADMIN(200),
  'DELETE /users/{id}/cart/{item_id}': OWNER_OR_ADMIN(200),
  'POST /users/{id}/cart/checkout': OWNER_OR_ADMIN(201),
  'GET /users/me': [401, 200, 200, 200, 200, 200],
  'GET /users/{id}': OWNER_OR_ADMIN(200),
  'PUT /users/{id}': OWNER_OR_ADMIN(200),
  'POST /users/{id}/password': [401, 200, 403, 403, 403, 403], // needs the current password: the holder only
  'POST /admin/suppliers/{id}/approve': ADMIN_ONLY(200),
  'POST /items': [401, 403, 403, 201, 201, 201],
  'POST /items/bulk': [401, 403, 403, 200, 200, 200],
  'GET /items/{id}': ANYONE(200),
  'PUT /items/{id}': [401, 403, 403, 200, 403, 200],
  'GET /suppliers/{id}/inventory': [401, 403, 403, 200, 403, 200],
  'GET /search': ANYONE(200),
  'POST /search/clicks': ANYONE(202),
  'GET /admin/reports/sales/items': ADMIN_ONLY(200),
  'GET /admin/reports/sales/categories': ADMIN_ONLY(200),
  'GET /admin/reports/queries/top': ADMIN_ONLY(200),
  'GET /admin/reports/queries/zero-results': ADMIN_ONLY(200),
  'GET /admin/reports/funnel': ADMIN_ONLY(200),
  'GET /admin/reports/events': ADMIN_ONLY(200),
  'GET /users/{id}/recommendations': OWNER_OR_ADMIN(200),
  'GET /users/{id}/notifications': OWNER_OR_ADMIN(200),
  'POST /users/{id}/notifications/{nid}/read': OWNER_OR_ADMIN(200),
  'POST /notifications': ADMIN_ONLY(201),
  'DELETE /items/{id}': [401, 403, 403, 204, 403, 204], // a fresh item of the supplier, never ordered
  'GET /users/{id}/addresses': OWNER_OR_ADMIN(200),
  'POST /users/{id}/addresses': OWNER_OR_ADMIN(201),
  'DELETE /users/{id}/addresses/{aid}': OWNER_OR_ADMIN(204), // a fresh address of the owner
  'GET /suppliers/{id}/orders': [401, 403, 403, 200, 403, 200],
  'GET /admin/orders': ADMIN_ONLY(200),
};

let p: Platform;
const users = {} as Record<Exclude<Who, 'anonymous'>, TestUser>;
let item: string;
let orderId: string;
let notificationId: string;
const PASSWORD = 'correct horse battery';

const token = (who: Who) => (who === 'anonymous' ? undefined : users[who].token);
const owner = () => users.customer;

/** An order of the customer for the supplier's item: created (waiting for payment), placed, or in transit. */
async function freshOrder(
  state: 'created' | 'placed' | 'in_transit',
  method = state === 'created' ? 'pm_card_noResponse' : 'pm_card_visa',
): Promise<string> {
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: owner().token,
    body: { user_id: owner().userId, items: [{ item_id: item, quantity: 1 }], payment_method: method },
  });
  expect(r.status).toBe(201);
  const id = r.body.order_id as string;
  if (state === 'created') {
    // Cancelable once its saga waits for the payment (a moment after the 201); a payment retry once the charge answered.
    await eventually(
      async () => (await p.stores.temporal.workflow.getHandle(id).query(stateQuery)).phase === 'awaiting_payment',
    );
    if (method === 'pm_card_lateSuccess')
      await eventually(async () => {
        const { payment } = await p.stores.temporal.workflow.getHandle(id).query(detailsQuery);
        return payment.attempts > 0 && !payment.inFlight; // the first charge answered (pending)
      });
    return id;
  }
  await eventually(
    async () => (await call(p.baseUrl, 'GET', `/orders/${id}`, { token: owner().token })).body.status === 'placed',
  );
  // The saga records the order placed, then takes it as placed (a moment later): ship is accepted from then.
  await eventually(async () => (await p.stores.temporal.workflow.getHandle(id).query(stateQuery)).phase === 'placed');
  // The saga takes the ship update once it has moved on from the payment (a moment after the row says placed).
  if (state === 'in_transit')
    await eventually(
      async () =>
        (await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: users.admin.token, body: TEST_SHIPMENT }))
          .status === 200,
    );
  return id;
}
const addLine = () =>
  call(p.baseUrl, 'POST', `/users/${owner().userId}/cart`, {
    token: owner().token,
    body: { item_id: item, quantity: 1 },
  });
const addWish = () =>
  call(p.baseUrl, 'POST', `/users/${owner().userId}/wishlist`, { token: owner().token, body: { item_id: item } });

/** A valid request for an operation: its path with real ids, its body, and what must be true before it. */
interface Request {
  path: string;
  body?: unknown;
}
async function requestFor(op: string, template: string): Promise<Request> {
  const u = owner().userId;
  const ids: Record<string, string> = { item_id: item, nid: notificationId };
  if (op === 'DELETE /users/{id}/addresses/{aid}') {
    const saved = await call(p.baseUrl, 'POST', `/users/${u}/addresses`, { token: owner().token, body: TEST_ADDRESS });
    ids.aid = saved.body.address_id;
  }
  const id = op.endsWith('/retry-payment')
    ? await freshOrder('created', 'pm_card_lateSuccess') // its charge answered (pending): not in flight
    : template.startsWith('/admin/orders/{id}')
      ? await freshOrder('created')
      : template.startsWith('/orders/')
        ? op.endsWith('/cancel')
          ? await freshOrder('created')
          : op.endsWith('/ship')
            ? await freshOrder('placed')
            : op.endsWith('/deliver')
              ? await freshOrder('in_transit')
              : orderId
        : op === 'DELETE /items/{id}'
          ? await makeItem(p.stores.mysql, { stock: 1, supplierId: users.supplier.userId, price: 5 })
          : template.startsWith('/items/')
            ? item
            : template.startsWith('/suppliers/') || template.startsWith('/admin/suppliers/')
              ? users.supplier.userId
              : u;
  const filled = template.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'id' ? id : ids[name]!));
  const path =
    op === 'GET /admin/orders' ? `${filled}?status=delivered&day=${new Date().toISOString().slice(0, 10)}` : filled;
  if (
    op === 'PUT /users/{id}/cart/{item_id}' ||
    op === 'DELETE /users/{id}/cart/{item_id}' ||
    op === 'POST /users/{id}/cart/checkout'
  )
    await addLine();
  if (op === 'DELETE /users/{id}/wishlist/{item_id}' || op === 'POST /users/{id}/wishlist') await addWish(); // adding again: 200
  const bodies: Record<string, unknown> = {
    'POST /payments/webhook': { id: 'evt_1', type: 'charge.succeeded', order_id: orderId },
    'POST /auth/register': { name: 'Matrix', email: `matrix-${randomUUID()}@test.shopflow.dev`, password: PASSWORD },
    'POST /auth/login': { email: owner().email, password: PASSWORD },
    'POST /orders': { user_id: u, items: [{ item_id: item, quantity: 1 }], payment_method: 'pm_card_noResponse' },
    'POST /users/{id}/wishlist': { item_id: item },
    'POST /users/{id}/cart': { item_id: item, quantity: 1 },
    'PUT /users/{id}/cart/{item_id}': { quantity: 2 },
    'POST /users/{id}/cart/checkout': { payment_method: 'pm_card_noResponse' },
    'PUT /users/{id}': { name: 'Matrix Owner' },
    'POST /users/{id}/password': { current_password: PASSWORD, new_password: PASSWORD },
    'POST /items': { name: 'Matrix item', category: 'Matrix', price: 1, stock: 1 },
    'POST /items/bulk': { create: [{ name: 'Matrix bulk item', category: 'Matrix', price: 1 }] },
    'PUT /items/{id}': { price: 10 },
    'POST /search/clicks': { query: 'matrix', item_id: item },
    'POST /notifications': { user_id: u, type: 'matrix_note', message: 'hello' },
    'POST /users/{id}/addresses': TEST_ADDRESS,
    'POST /orders/{id}/ship': TEST_SHIPMENT,
    'POST /admin/orders/{id}/force-cancel': { note: 'matrix' },
    'POST /admin/orders/{id}/payment-window': { expires_at: new Date(Date.now() + 3600_000).toISOString() },
    'POST /admin/orders/{id}/retry-payment': {},
    'POST /admin/orders/{id}/manual-refund': { reference: 'matrix-transfer-1' },
  };
  return { path, body: bodies[op] };
}

beforeAll(async () => {
  p = await startPlatform({ env: { RATE_LIMIT_REGISTER: '1000', RATE_LIMIT_LOGIN: '1000' } });
  const { mysql } = p.stores;
  const tokens = p.deps.tokens;
  [users.customer, users.otherCustomer, users.supplier, users.otherSupplier, users.admin] = await Promise.all([
    makeUser(mysql, tokens, 'customer'),
    makeUser(mysql, tokens, 'customer'),
    makeUser(mysql, tokens, 'supplier'),
    makeUser(mysql, tokens, 'supplier'),
    makeUser(mysql, tokens, 'admin'),
  ]);
  item = await makeItem(mysql, { stock: 100_000, supplierId: users.supplier.userId, price: 5 });
  orderId = await freshOrder('created');
  const n = await call(p.baseUrl, 'POST', '/notifications', {
    token: users.admin.token,
    body: { user_id: owner().userId, type: 'matrix_note', message: 'hi' },
  });
  expect(n.status).toBe(201);
  notificationId = n.body.notification_id;
});
afterAll(async () => {
  await p?.stop();
});

test('every operation of the document has a row, and every row an operation', async () => {
  const doc = (await call(p.baseUrl, 'GET', '/openapi.json')).body;
  const ops = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, byMethod]) =>
    Object.keys(byMethod).map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect(ops.filter((op) => !(op in MATRIX))).toEqual([]);
  expect(Object.keys(MATRIX).filter((op) => !ops.includes(op))).toEqual([]);
});

describe.each(Object.keys(MATRIX))('%s', (op) => {
  test.each(WHO.map((who, i) => [who, i] as const))('%s', async (who, i) => {
    const [method, template] = op.split(' ') as [string, string];
    const req = await requestFor(op, template);
    const r = await call(p.baseUrl, method, req.path, { token: token(who), body: req.body });
    expect({ op, who, status: r.status }).toEqual({ op, who, status: MATRIX[op]![i] });
    if (r.status >= 400)
      expect(r.body).toEqual({
        error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
      });
    // A password change revokes the holder's earlier tokens and answers a new one.
    if (op === 'POST /users/{id}/password' && r.status === 200)
      users.customer = { ...users.customer, token: r.body.token };
  });
});
