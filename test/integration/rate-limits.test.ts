/**
 * Rate limits are shared by every API process (counters in Redis, rate-limit-redis) and keyed on the client
 * address `trust proxy` (TRUST_PROXY) says to believe (issue 13 item 6, review M2).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser } from '../support/fixtures';
import { call } from '../support/http';
import { createApp } from '../../api/app';
import { buildApiDeps } from '../../api/build';

let p: Platform;
let second: Server;
let secondUrl: string;
beforeAll(async () => {
  p = await startPlatform({ worker: false, env: { RATE_LIMIT_LOGIN: '3', RATE_LIMIT_ORDERS: '2', TRUST_PROXY: '1' } });
  // A second API process: its own app, limiters and Redis connection, the same configuration.
  const deps = await buildApiDeps(p.cfg, p.stores);
  second = await new Promise((resolve) => {
    const s = createApp(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  secondUrl = `http://127.0.0.1:${(second.address() as AddressInfo).port}`;
});
afterAll(async () => {
  second?.closeAllConnections();
  await new Promise((r) => second?.close(r));
  await p?.stop();
});

const login = (base: string, client: string) =>
  call(base, 'POST', '/auth/login', {
    headers: { 'x-forwarded-for': client },
    body: { email: 'nobody@test.shopflow.dev', password: 'wrong password' },
  });

test('login attempts are counted across API processes: 3 a minute per client in total, not per process', async () => {
  const client = '203.0.113.7';
  const statuses = [
    (await login(p.baseUrl, client)).status,
    (await login(secondUrl, client)).status,
    (await login(p.baseUrl, client)).status,
    (await login(secondUrl, client)).status,
  ];
  expect(statuses).toEqual([401, 401, 401, 429]);
  const limited = await login(p.baseUrl, client);
  expect(limited.body.error.code).toBe('rate_limited');
});

test('behind one trusted proxy (TRUST_PROXY=1), two clients get separate buckets', async () => {
  for (let i = 0; i < 3; i++) expect((await login(p.baseUrl, '198.51.100.1')).status).toBe(401);
  expect((await login(p.baseUrl, '198.51.100.1')).status).toBe(429);
  expect((await login(p.baseUrl, '198.51.100.2')).status).toBe(401);
});

test('POST /orders and cart checkout share one placement budget per buyer', async () => {
  const u = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 100 });
  const order = () =>
    call(p.baseUrl, 'POST', '/orders', {
      token: u.token,
      body: { user_id: u.userId, items: [{ item_id: item, quantity: 1 }] },
    });
  expect((await order()).status).toBe(201);
  await call(secondUrl, 'POST', `/users/${u.userId}/cart`, { token: u.token, body: { item_id: item } });
  expect((await call(secondUrl, 'POST', `/users/${u.userId}/cart/checkout`, { token: u.token })).status).toBe(201);
  expect((await order()).status).toBe(429);
});
