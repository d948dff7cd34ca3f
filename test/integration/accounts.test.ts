/**
 * Accounts and token revocation (issue 13 item 1, issue 16 item 4): GET /users/me, PUT /users/{id},
 * POST /users/{id}/password; a token whose account is gone, whose role changed or whose password changed is
 * refused; suppliers list items only once an admin approved them; an item needs a price.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { startPlatform, Platform } from '../support/platform';
import { makeUser, TestUser } from '../support/fixtures';
import { call } from '../support/http';
import { ensureAdmin } from '../../users/repository';

let p: Platform;
let admin: TestUser;
beforeAll(async () => {
  p = await startPlatform({ worker: false, env: { RATE_LIMIT_REGISTER: '1000', RATE_LIMIT_LOGIN: '1000' } });
  admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
});
afterAll(async () => {
  await p?.stop();
});

const email = () => `acct-${randomUUID()}@test.shopflow.dev`;
async function signUp(role: 'customer' | 'supplier' = 'customer', password = 'correct horse battery') {
  const e = email();
  const reg = await call(p.baseUrl, 'POST', '/auth/register', { body: { name: 'Acct', email: e, password, role } });
  expect(reg.status).toBe(201);
  const login = await call(p.baseUrl, 'POST', '/auth/login', { body: { email: e, password } });
  expect(login.status).toBe(200);
  return { email: e, userId: login.body.user_id as string, token: login.body.token as string };
}

test('GET /users/me answers the caller; without a token 401', async () => {
  const u = await signUp();
  const me = await call(p.baseUrl, 'GET', '/users/me', { token: u.token });
  expect(me.status).toBe(200);
  expect(me.body).toEqual({ user_id: u.userId, name: 'Acct', email: u.email, phone: null, role: 'customer' });
  expect((await call(p.baseUrl, 'GET', '/users/me')).status).toBe(401);
});

test('PUT /users/{id}: the user or an admin changes name and phone; another customer 403; bad input 400', async () => {
  const u = await signUp();
  const other = await signUp();
  const mine = await call(p.baseUrl, 'PUT', `/users/${u.userId}`, {
    token: u.token,
    body: { name: 'Ada Lovelace', phone: '+44 20 7946 0958' },
  });
  expect(mine.status).toBe(200);
  expect(mine.body).toMatchObject({
    name: 'Ada Lovelace',
    phone: '+44 20 7946 0958',
    email: u.email,
    role: 'customer',
  });
  expect(
    (await call(p.baseUrl, 'PUT', `/users/${u.userId}`, { token: other.token, body: { name: 'Mallory' } })).status,
  ).toBe(403);
  const byAdmin = await call(p.baseUrl, 'PUT', `/users/${u.userId}`, { token: admin.token, body: { phone: null } });
  expect(byAdmin.body).toMatchObject({ name: 'Ada Lovelace', phone: null });
  for (const body of [
    { name: '' },
    { name: 'a\u0000b' },
    { phone: 'call me' },
    { role: 'admin' },
    { email: 'x@y.z' },
  ]) {
    const r = await call(p.baseUrl, 'PUT', `/users/${u.userId}`, { token: u.token, body });
    expect({ body, status: r.status }).toEqual({ body, status: 400 });
  }
  expect((await call(p.baseUrl, 'GET', `/users/${u.userId}`, { token: u.token })).body.role).toBe('customer');
});

test('a password change needs the current password, revokes every earlier token and returns a new one', async () => {
  const u = await signUp();
  const second = (
    await call(p.baseUrl, 'POST', '/auth/login', { body: { email: u.email, password: 'correct horse battery' } })
  ).body.token as string;
  const wrong = await call(p.baseUrl, 'POST', `/users/${u.userId}/password`, {
    token: u.token,
    body: { current_password: 'not it at all', new_password: 'a new long password' },
  });
  expect(wrong.status).toBe(403);
  expect(wrong.body.error.code).toBe('wrong_password');
  const byAdmin = await call(p.baseUrl, 'POST', `/users/${u.userId}/password`, {
    token: admin.token,
    body: { current_password: 'correct horse battery', new_password: 'admin chose this one' },
  });
  expect(byAdmin.status).toBe(403);

  const changed = await call(p.baseUrl, 'POST', `/users/${u.userId}/password`, {
    token: u.token,
    body: { current_password: 'correct horse battery', new_password: 'a new long password' },
  });
  expect(changed.status).toBe(200);
  for (const old of [u.token, second]) {
    const r = await call(p.baseUrl, 'GET', '/users/me', { token: old });
    expect(r.status).toBe(401);
    expect(r.body.error.message).toMatch(/revoked/);
  }
  expect((await call(p.baseUrl, 'GET', '/users/me', { token: changed.body.token })).status).toBe(200);
  expect(
    (await call(p.baseUrl, 'POST', '/auth/login', { body: { email: u.email, password: 'correct horse battery' } }))
      .status,
  ).toBe(401);
  const again = await call(p.baseUrl, 'POST', '/auth/login', {
    body: { email: u.email, password: 'a new long password' },
  });
  expect(again.status).toBe(200);
  expect((await call(p.baseUrl, 'GET', '/users/me', { token: again.body.token })).status).toBe(200);
});

test('a token whose account was deleted, or whose role changed, is refused; so is one that never expires', async () => {
  const gone = await signUp();
  await p.stores.mysql('users').where({ user_id: gone.userId }).delete();
  const r = await call(p.baseUrl, 'GET', `/users/${gone.userId}`, { token: gone.token });
  expect(r.status).toBe(401);

  // The squatter of the admin email: its customer token dies when the account becomes the admin.
  const squatter = await signUp();
  await ensureAdmin(p.stores.mysql, squatter.email, 'the real admin password');
  expect((await call(p.baseUrl, 'GET', `/users/${squatter.userId}`, { token: squatter.token })).status).toBe(401);

  const u = await signUp();
  const forever = jwt.sign({ role: 'customer', ver: 0 }, p.cfg.JWT_SECRET, { algorithm: 'HS256', subject: u.userId });
  expect((await call(p.baseUrl, 'GET', '/users/me', { token: forever })).status).toBe(401);
});

test('a new supplier lists items only once an admin approved it', async () => {
  const s = await signUp('supplier');
  const item = { name: 'Kettle', category: 'Kitchen', price: 25, stock: 3 };
  const before = await call(p.baseUrl, 'POST', '/items', { token: s.token, body: item });
  expect(before.status).toBe(403);
  expect(before.body.error.code).toBe('supplier_not_approved');

  const customer = await signUp();
  expect(
    (await call(p.baseUrl, 'POST', `/admin/suppliers/${s.userId}/approve`, { token: customer.token })).status,
  ).toBe(403);
  expect((await call(p.baseUrl, 'POST', `/admin/suppliers/${s.userId}/approve`, { token: s.token })).status).toBe(403);
  expect(
    (await call(p.baseUrl, 'POST', `/admin/suppliers/${customer.userId}/approve`, { token: admin.token })).status,
  ).toBe(404);
  const ok = await call(p.baseUrl, 'POST', `/admin/suppliers/${s.userId}/approve`, { token: admin.token });
  expect(ok.status).toBe(200);
  expect((await call(p.baseUrl, 'POST', `/admin/suppliers/${s.userId}/approve`, { token: admin.token })).status).toBe(
    200,
  );

  const after = await call(p.baseUrl, 'POST', '/items', { token: s.token, body: item });
  expect(after.status).toBe(201);
  expect(after.body).toMatchObject({ supplier_id: s.userId, price: 25 });
});

test('an item without a price is refused (400), not created for free', async () => {
  const s = await makeUser(p.stores.mysql, p.deps.tokens, 'supplier');
  const r = await call(p.baseUrl, 'POST', '/items', {
    token: s.token,
    body: { name: 'Free?', category: 'Test', stock: 5 },
  });
  expect(r.status).toBe(400);
  expect(r.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'body.price' })]));
  const bulk = await call(p.baseUrl, 'POST', '/items/bulk', {
    token: s.token,
    body: { create: [{ name: 'Free?', category: 'Test' }] },
  });
  expect(bulk.status).toBe(400);
});
