/** GET /healthz and /readyz through the API; readyz names a store that is down and answers 503. */
import { startPlatform, Platform } from '../support/platform';
import { call } from '../support/http';
import { createApp } from '../../api/app';
import type { AddressInfo } from 'node:net';

let p: Platform;
beforeAll(async () => {
  p = await startPlatform({ worker: false });
});
afterAll(async () => {
  await p.stop();
});

test('healthz answers while the process is up', async () => {
  const r = await call(p.baseUrl, 'GET', '/healthz');
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ status: 'ok' });
});

test('readyz is 200 when every store answers', async () => {
  const r = await call(p.baseUrl, 'GET', '/readyz');
  expect(r.status).toBe(200);
  expect(r.body.down).toEqual([]);
});

test('readyz is 503 and names the store that is down', async () => {
  // The same app, with a readiness probe whose Redis points at a closed port.
  const { createRedis } = await import('../../stores/redis/client');
  const { checkReadiness } = await import('../../stores');
  const deadRedis = createRedis('redis://127.0.0.1:1');
  deadRedis.on('error', () => undefined);
  const app = createApp({ ...p.deps, readiness: () => checkReadiness({ ...p.stores, redis: deadRedis }) });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const r = await call(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'GET', '/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ status: 'unavailable', down: ['redis'] }); // the store's error goes to the log, not to clients
  } finally {
    deadRedis.disconnect();
    server.close();
  }
});
