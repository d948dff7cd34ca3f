/**
 * Accounts through the API: register, log in (argon2id hashes, a JWT with an expiry), the first admin from
 * ADMIN_EMAIL / ADMIN_PASSWORD, and the rate limits on login and on order placement.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import jwt from 'jsonwebtoken';
import { startPlatform, Platform } from '../support/platform';
import { makeUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { createApp } from '../../api/app';
import { newRegistry } from '../../api/openapi';
import { ensureAdmin, findUserByEmail } from '../../users/repository';

const adminEmail = `admin-${randomUUID()}@test.shopflow.dev`;
const adminPassword = 'admin-password-for-tests';
let p: Platform;

beforeAll(async () => {
  // A short token lifetime, so expiry can be seen; the first admin from the environment.
  p = await startPlatform({
    worker: false,
    env: { JWT_TTL: '3s', ADMIN_EMAIL: adminEmail, ADMIN_PASSWORD: adminPassword },
  });
});
afterAll(async () => {
  await p?.stop();
});

const newEmail = () => `User-${randomUUID()}@Test.Shopflow.dev`;

test('register: 201 with the account; the password is stored as an argon2id hash', async () => {
  const email = newEmail();
  const r = await call(p.baseUrl, 'POST', '/auth/register', {
    body: { name: 'Ada', email, password: 'correct horse battery', phone: '+44 20 7946 0958' },
  });
  expect(r.status).toBe(201);
  expect(r.body).toEqual({
    user_id: expect.stringMatching(/^u-/),
    name: 'Ada',
    email: email.toLowerCase(),
    role: 'customer',
  });
  const row = await findUserByEmail(p.stores.mysql, email);
  expect(row!.password_hash).toMatch(/^\$argon2id\$/);
  expect(JSON.stringify(r.body)).not.toContain('password');
});

test('register: the same email again (any case) is 409 email_taken', async () => {
  const email = newEmail();
  expect(
    (await call(p.baseUrl, 'POST', '/auth/register', { body: { name: 'A', email, password: 'password-1234' } })).status,
  ).toBe(201);
  const r = await call(p.baseUrl, 'POST', '/auth/register', {
    body: { name: 'B', email: email.toUpperCase(), password: 'password-5678' },
  });
  expect(r.status).toBe(409);
  expect(r.body.error.code).toBe('email_taken');
});

test('register and login take any address an HTML form would (the pattern in the OpenAPI document)', async () => {
  const email = `o'brien+shop/${randomUUID().slice(0, 8)}@example.co.uk`;
  expect(
    (await call(p.baseUrl, 'POST', '/auth/register', { body: { name: "O'Brien", email, password: 'password-1234' } }))
      .status,
  ).toBe(201);
  expect((await call(p.baseUrl, 'POST', '/auth/login', { body: { email, password: 'password-1234' } })).status).toBe(
    200,
  );
});

test.each([
  ['a short password', { password: 'short' }],
  ['a bad email', { email: 'not-an-email' }],
  ['an operator object as the email', { email: { $gt: '' } }],
  ['self-made admin', { role: 'admin' }],
  ['an unknown field', { is_admin: true }],
  ['an empty name', { name: '   ' }],
])('register refuses %s (400)', async (_n, patch) => {
  const r = await call(p.baseUrl, 'POST', '/auth/register', {
    body: { name: 'X', email: newEmail(), password: 'long-enough-password', ...patch },
  });
  expect(r.status).toBe(400);
  expect(r.body.error.code).toBe('invalid_request');
});

test("login: a token for the user, with an expiry; it opens the user's own routes", async () => {
  const email = newEmail();
  const reg = await call(p.baseUrl, 'POST', '/auth/register', {
    body: { name: 'Lin', email, password: 'correct horse battery' },
  });
  const r = await call(p.baseUrl, 'POST', '/auth/login', { body: { email, password: 'correct horse battery' } });
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ token: expect.any(String), user_id: reg.body.user_id, role: 'customer', expires_in: 3 });
  const claims = jwt.decode(r.body.token) as jwt.JwtPayload;
  expect(claims.sub).toBe(reg.body.user_id);
  expect(claims.exp! - claims.iat!).toBe(3);
  const me = await call(p.baseUrl, 'GET', `/users/${reg.body.user_id}`, { token: r.body.token });
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({ user_id: reg.body.user_id, email: email.toLowerCase(), role: 'customer' });
});

test('login: a wrong password and an unknown email get the same 401', async () => {
  const email = newEmail();
  await call(p.baseUrl, 'POST', '/auth/register', { body: { name: 'Kim', email, password: 'correct horse battery' } });
  const wrong = await call(p.baseUrl, 'POST', '/auth/login', { body: { email, password: 'battery horse correct' } });
  const unknown = await call(p.baseUrl, 'POST', '/auth/login', {
    body: { email: newEmail(), password: 'whatever-it-is' },
  });
  expect(wrong.status).toBe(401);
  expect(unknown.status).toBe(401);
  expect(wrong.body).toEqual(unknown.body);
});

test('a token stops working when it expires', async () => {
  const email = newEmail();
  const reg = await call(p.baseUrl, 'POST', '/auth/register', {
    body: { name: 'Exp', email, password: 'correct horse battery' },
  });
  const { token } = (
    await call(p.baseUrl, 'POST', '/auth/login', { body: { email, password: 'correct horse battery' } })
  ).body;
  expect((await call(p.baseUrl, 'GET', `/users/${reg.body.user_id}`, { token })).status).toBe(200);
  const r = await eventually(
    async () => {
      const res = await call(p.baseUrl, 'GET', `/users/${reg.body.user_id}`, { token });
      return res.status === 401 ? res : undefined;
    },
    15_000,
    250,
  );
  expect(r.body.error).toEqual({ code: 'unauthorized', message: 'the token is invalid or expired' });
});

test('the first admin comes from ADMIN_EMAIL / ADMIN_PASSWORD and can log in as admin', async () => {
  const r = await call(p.baseUrl, 'POST', '/auth/login', { body: { email: adminEmail, password: adminPassword } });
  expect(r.status).toBe(200);
  expect(r.body.role).toBe('admin');
});

test('an account registered first under ADMIN_EMAIL does not keep it: the configured admin wins', async () => {
  const email = newEmail();
  await call(p.baseUrl, 'POST', '/auth/register', {
    body: { name: 'Squatter', email, password: 'squatters-password' },
  });
  await ensureAdmin(p.stores.mysql, email, 'the-real-admin-password');
  const squatter = await call(p.baseUrl, 'POST', '/auth/login', { body: { email, password: 'squatters-password' } });
  expect(squatter.status).toBe(401);
  const real = await call(p.baseUrl, 'POST', '/auth/login', { body: { email, password: 'the-real-admin-password' } });
  expect(real.body.role).toBe('admin');
  // Idempotent: a restart leaves the admin (and a password it changed since) alone.
  await ensureAdmin(p.stores.mysql, email, 'the-real-admin-password');
  expect(
    (await call(p.baseUrl, 'POST', '/auth/login', { body: { email, password: 'the-real-admin-password' } })).status,
  ).toBe(200);
});

/** The same app with lower limits (its own rate-limit counters in Redis), on a port of its own. */
async function appWithLimits(limits: {
  RATE_LIMIT_LOGIN?: number;
  RATE_LIMIT_ORDERS?: number;
}): Promise<{ url: string; close: () => void }> {
  const app = createApp({
    ...p.deps,
    cfg: { ...p.deps.cfg, ...limits, RATE_LIMIT_REDIS_PREFIX: `ratelimit:${randomUUID()}:` },
    registry: newRegistry(),
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

test('login is rate limited per client: 429 in the error format, with RateLimit headers', async () => {
  const a = await appWithLimits({ RATE_LIMIT_LOGIN: 3 });
  try {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await call(a.url, 'POST', '/auth/login', { body: { email: newEmail(), password: 'nope-nope-nope' } });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(last!.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    expect(last!.headers.get('ratelimit-policy') ?? last!.headers.get('ratelimit')).toBeTruthy();
  } finally {
    a.close();
  }
});

test('order placement is rate limited per buyer (POST /orders and cart checkout)', async () => {
  const a = await appWithLimits({ RATE_LIMIT_ORDERS: 2 });
  try {
    const u = await makeUser(p.stores.mysql, p.deps.tokens);
    const v = await makeUser(p.stores.mysql, p.deps.tokens);
    // No worker in this platform: an unknown item ends the request quickly (404), and the attempt still counts.
    const unknownBody = { user_id: u.userId, items: [{ item_id: 'no-such-item-here', quantity: 1 }] };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call(a.url, 'POST', '/orders', { token: u.token, body: unknownBody })).status);
    expect(statuses).toEqual([404, 404, 429]);
    // Checkout draws on the same budget; another buyer has a budget of their own.
    expect((await call(a.url, 'POST', `/users/${u.userId}/cart/checkout`, { token: u.token })).status).toBe(429);
    expect(
      (await call(a.url, 'POST', '/orders', { token: v.token, body: { ...unknownBody, user_id: v.userId } })).status,
    ).toBe(404);
    const co: number[] = [];
    for (let i = 0; i < 2; i++)
      co.push((await call(a.url, 'POST', `/users/${v.userId}/cart/checkout`, { token: v.token })).status);
    expect(co).toEqual([409, 429]);
  } finally {
    a.close();
  }
});
