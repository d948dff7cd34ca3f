/**
 * The API's conventions on every route: the error format for whatever goes wrong (malformed JSON, wrong types,
 * operator objects, oversized bodies, other content types, bad percent-encoding, unknown routes and methods,
 * crashes), security headers, request ids, the OpenAPI document and its page, metrics, graceful shutdown.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { createApp } from '../../api/app';
import { newRegistry } from '../../api/openapi';

let p: Platform;
let u: TestUser;

beforeAll(async () => {
  p = await startPlatform({ worker: false });
  u = await makeUser(p.stores.mysql, p.deps.tokens);
});
afterAll(async () => {
  await p?.stop();
});

const errorShape = (code: string) => ({ error: { code, message: expect.any(String) } });
const raw = (method: string, path: string, body: string, headers: Record<string, string> = {}) =>
  call(p.baseUrl, method, path, {
    token: u.token,
    rawBody: body,
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('bad input is a 4xx in the error format, never a 500 or an HTML page', () => {
  test('malformed JSON: 400 invalid_json', async () => {
    const r = await raw('POST', `/users/${u.userId}/cart`, '{"item_id": ');
    expect(r.status).toBe(400);
    expect(r.body).toEqual(errorShape('invalid_json'));
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  });

  test('a JSON scalar where an object belongs (strict parser): 400', async () => {
    for (const body of ['"text"', 'null', '42', '[]']) {
      const r = await raw('POST', '/auth/login', body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toMatch(/^invalid_(json|request)$/);
    }
  });

  test('wrong types: 400 naming each field', async () => {
    const r = await call(p.baseUrl, 'POST', '/orders', {
      token: u.token,
      body: { user_id: 7, items: 'all of them', payment_method: true },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'body.items',
      'body.payment_method',
      'body.user_id',
    ]);
  });

  test.each([
    ['/auth/login', { email: { $gt: '' }, password: 'x' }],
    ['/auth/register', { name: 'x', email: { $ne: null }, password: 'password-123' }],
    ['/orders', { user_id: { $gt: '' }, items: [{ item_id: 'a', quantity: 1 }] }],
    ['/orders', { user_id: 'u', items: [{ item_id: { $regex: '.*' }, quantity: 1 }] }],
    ['CART', { item_id: { $gt: '' }, quantity: 1 }],
    ['WISHLIST', { item_id: { $where: 'sleep(1000)' } }],
  ])('an operator object where a string belongs is 400 (%s)', async (path, body) => {
    const target =
      path === 'CART' ? `/users/${u.userId}/cart` : path === 'WISHLIST' ? `/users/${u.userId}/wishlist` : path;
    const r = await call(p.baseUrl, 'POST', target, { token: u.token, body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
  });

  test('an operator-like path segment or query is just a string that matches nothing', async () => {
    const r = await call(p.baseUrl, 'GET', `/users/${encodeURIComponent('{"$gt":""}')}/cart`, { token: u.token });
    expect(r.status).toBe(400); // not a valid id
    const q = await call(p.baseUrl, 'GET', `/users/${u.userId}/cart?user_id[$ne]=x`, { token: u.token });
    expect(q.status).toBe(200);
    expect(q.body).toEqual([]);
  });

  test('an oversized body: 413 payload_too_large', async () => {
    const r = await raw('POST', `/users/${u.userId}/cart`, JSON.stringify({ item_id: 'x'.repeat(200 * 1024) }));
    expect(r.status).toBe(413);
    expect(r.body).toEqual(errorShape('payload_too_large'));
  });

  test('a body that is not JSON: 415; a charset we do not read: 415', async () => {
    let r = await raw('POST', `/users/${u.userId}/cart`, 'item_id=x&quantity=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(r.status).toBe(415);
    expect(r.body).toEqual(errorShape('unsupported_media_type'));
    r = await raw('POST', `/users/${u.userId}/cart`, '{}', { 'content-type': 'application/json; charset=latin1' });
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe('unsupported_media_type');
  });

  test('a path that is not valid percent-encoding: 400 in the error format', async () => {
    for (const path of ['/orders/%E0%A4%A', `/users/%E0%A4%A/cart`, '/%E0%A4%A']) {
      const r = await call(p.baseUrl, 'GET', path, { token: u.token });
      expect([400, 404]).toContain(r.status);
      expect(r.body.error.code).toMatch(/^(invalid_request|not_found)$/);
    }
  });

  test('an unknown route: 404 in the error format', async () => {
    const r = await call(p.baseUrl, 'GET', '/no/such/route');
    expect(r.status).toBe(404);
    expect(r.body).toEqual(errorShape('not_found'));
  });

  test('a known path with another method: 405 with Allow; OPTIONS: 204 with Allow; HEAD: headers only', async () => {
    let r = await call(p.baseUrl, 'PATCH', `/users/${u.userId}/cart`, { token: u.token });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD, OPTIONS, POST');
    expect(r.body).toEqual(errorShape('method_not_allowed'));
    r = await call(p.baseUrl, 'GET', `/users/${u.userId}/cart/checkout`, { token: u.token });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('OPTIONS, POST');
    r = await call(p.baseUrl, 'OPTIONS', `/users/${u.userId}/cart/some-item`);
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toBe('DELETE, OPTIONS, PUT');
    r = await call(p.baseUrl, 'HEAD', '/healthz');
    expect(r.status).toBe(200);
    expect(r.body).toBeUndefined();
  });

  test('a crash is a 500 in the error format with no stack trace or internals', async () => {
    const app = createApp({
      ...p.deps,
      registry: newRegistry(),
      readiness: async () => {
        throw new Error('secret internals at /work/main/stores/index.ts:42');
      },
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const r = await call(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'GET', '/readyz');
      expect(r.status).toBe(500);
      expect(r.body).toEqual(errorShape('internal'));
      expect(JSON.stringify(r.body)).not.toMatch(/secret|stores\/index|at /);
    } finally {
      server.close();
    }
  });
});

describe('headers', () => {
  test('security headers (helmet) on every answer, no x-powered-by', async () => {
    for (const path of ['/healthz', '/no/such/route']) {
      const r = await call(p.baseUrl, 'GET', path);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(r.headers.get('strict-transport-security')).toContain('max-age=');
      expect(r.headers.get('x-powered-by')).toBeNull();
    }
  });

  test('every answer carries a request id: a sane one given by the client is kept, others replaced', async () => {
    let r = await call(p.baseUrl, 'GET', '/healthz');
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    r = await call(p.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': 'trace-abc_123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-abc_123');
    r = await call(p.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces; and more' } });
    expect(r.headers.get('x-request-id')).not.toBe('bad id with spaces; and more');
  });
});

describe('documentation and metrics', () => {
  test('GET /openapi.json documents every route of this issue, with bearer auth and the error schema', async () => {
    const r = await call(p.baseUrl, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/auth/register',
        '/auth/login',
        '/users/{id}',
        '/users/{id}/wishlist',
        '/users/{id}/wishlist/{item_id}',
        '/users/{id}/cart',
        '/users/{id}/cart/{item_id}',
        '/users/{id}/cart/checkout',
        '/orders',
        '/orders/{id}',
      ]),
    );
    expect(Object.keys(doc.paths['/users/{id}/cart/{item_id}']).sort()).toEqual(['delete', 'put']);
    const getCart = doc.paths['/users/{id}/cart'].get;
    expect(getCart.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(getCart.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
    expect(doc.components.schemas.Error).toBeDefined();
  });

  test('GET /docs/ renders the API page', async () => {
    const r = await fetch(`${p.baseUrl}/docs/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(await r.text()).toContain('swagger-ui');
  });

  test('GET /metrics: request latency by route pattern, orders by outcome', async () => {
    const item = await makeItem(p.stores.mysql, { stock: 3 });
    await call(p.baseUrl, 'POST', `/users/${u.userId}/cart`, { token: u.token, body: { item_id: item } });
    await call(p.baseUrl, 'POST', '/orders', {
      token: u.token,
      body: { user_id: u.userId, items: [{ item_id: 'no-such-item', quantity: 1 }] },
    });
    // Not public: an admin token (business figures), 401 without a token, 403 for a customer.
    expect((await fetch(`${p.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${p.baseUrl}/metrics`, { headers: { authorization: `Bearer ${u.token}` } })).status).toBe(403);
    const admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
    const r = await fetch(`${p.baseUrl}/metrics`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/users\/:id\/cart"[^}]*status="201"/);
    expect(text).not.toContain(u.userId); // route patterns, not raw paths
    expect(text).toContain('# TYPE shopflow_orders_total counter');
  });
});

/** Sends bytes as they are and returns what the server answers before it closes the connection. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (d) => (data += d.toString('utf8')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

test('the API process: JSON request logs with the request id, malformed HTTP in the error format, clean exit on SIGTERM', async () => {
  const entry = 'dist/api/server.js';
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run the build (npm test does)`);
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = s.address() as AddressInfo;
      s.close(() => resolve(free));
    });
  });
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  try {
    // Up, or a clear failure with the process's own words if it exits while starting.
    await eventually(
      async () => {
        if (child.exitCode !== null) return { failed: child.exitCode };
        return (await call(`http://127.0.0.1:${port}`, 'GET', '/healthz')).status === 200 && { failed: null };
      },
      60_000,
      250,
    ).then(({ failed }) => {
      if (failed !== null)
        throw new Error(`the API exited while starting (code ${failed}): ${err.slice(-2000)}${out.slice(-2000)}`);
    });
    // Structured logs: one JSON line per request, carrying the request id the client sees.
    const traced = await call(`http://127.0.0.1:${port}`, 'GET', '/no/such/route', {
      headers: { 'x-request-id': 'conventions-trace-1' },
    });
    expect(traced.headers.get('x-request-id')).toBe('conventions-trace-1');
    const line = await eventually(async () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .find((l) => l.req?.id === 'conventions-trace-1'),
    );
    expect(line).toMatchObject({
      level: 40,
      req: { method: 'GET', url: '/no/such/route' },
      res: { statusCode: 404 },
      responseTime: expect.any(Number),
    });
    const answer = await rawHttp(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: \x01\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'malformed_request', message: expect.any(String) },
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
