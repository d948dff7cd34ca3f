/**
 * One request cannot stall the API (issue 13 item 4, review H2). Every write route in /openapi.json gets 100 kB
 * bodies built as worst cases for each pattern of its body (long runs of what a pattern's loops accept, ended
 * by what it refuses, so a backtracking engine tries every split), as a customer (who must be refused before
 * the body is read where the route is not theirs) and as an admin (who gets through to validation); GET
 * routes get the same for their query strings (8 kB). Meanwhile the event loop's delay is measured with
 * perf_hooks: its p99 must stay under 200 ms. A backtracking pattern on 100 kB stalls for seconds, which is what
 * this catches; it is not a speed target (those are in bench/). The API runs in this process, so its event loop is
 * the one measured.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call } from '../support/http';

type Schema = Record<string, any>;
let p: Platform;
let doc: Schema;
let customer: TestUser;
let admin: TestUser;
let item: string;

beforeAll(async () => {
  p = await startPlatform({ worker: false, env: { LOG_LEVEL: 'fatal' } });
  [customer, admin] = await Promise.all([
    makeUser(p.stores.mysql, p.deps.tokens, 'customer'),
    makeUser(p.stores.mysql, p.deps.tokens, 'admin'),
  ]);
  item = await makeItem(p.stores.mysql, { stock: 10 });
  doc = (await call(p.baseUrl, 'GET', '/openapi.json')).body;
});
afterAll(async () => {
  await p?.stop();
});

const resolve = (s: Schema | undefined): Schema =>
  s?.$ref ? resolve(doc.components.schemas[s.$ref.split('/').pop()!]) : (s ?? {});

/** Strings of about `n` characters that make a backtracking matcher work hardest on typical patterns. */
function worstStrings(n: number): string[] {
  const run = (unit: string, end: string) => unit.repeat(Math.floor(n / unit.length)) + end;
  return [
    run('a', '\n'),
    run(' ', '\n'),
    run('a', '\u0000'),
    run('a ', '\u0001'),
    run('0', 'x'),
    'a@' + run('a', '!'),
    run('a.', '!'),
    run('A-', '!'),
    run('a', ''),
  ];
}

/** Every body that puts one worst-case string at one place of the schema (a string property, an array's
 * element, a record's value or key), nesting objects and arrays as the schema does. */
function bodies(schema: Schema, strings: string[], depth = 0): unknown[] {
  const s = resolve(schema);
  if (depth > 4) return [];
  if (s.type === 'string') return strings;
  if (s.type === 'array') return bodies(s.items, strings, depth + 1).map((v) => [v]);
  if (s.type === 'object' || s.properties) {
    const out: unknown[] = [];
    for (const [k, v] of Object.entries<Schema>(s.properties ?? {}))
      for (const b of bodies(v, strings, depth + 1)) out.push({ [k]: b });
    const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    if (extra) for (const b of bodies(extra, strings, depth + 1)) out.push({ k: b });
    if (s.propertyNames) for (const key of strings) out.push({ [key]: 'v' });
    return out;
  }
  return [];
}

function pathFor(template: string): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) =>
    name === 'item_id' || template.startsWith('/items/') ? item : name === 'nid' ? 'n-1' : customer.userId,
  );
}

test('100 kB worst-case bodies to every write route (and 8 kB query strings to every read) keep the event loop under 50 ms', async () => {
  const bodyStrings = worstStrings(98_000);
  const queryStrings = worstStrings(8_000);
  const h = monitorEventLoopDelay({ resolution: 5 });
  const seen: string[] = [];
  let requests = 0;
  h.enable();
  for (const [template, ops] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(ops)) {
      const path = pathFor(template);
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const tokens = op.security ? [customer.token, admin.token] : [undefined];
      if (schema) {
        seen.push(`${method} ${template}`);
        for (const body of bodies(schema, bodyStrings)) {
          for (const token of tokens) {
            const r = await call(p.baseUrl, method.toUpperCase(), path, { token, body });
            requests++;
            expect({ op: `${method} ${template}`, status: r.status < 500 }).toEqual({
              op: `${method} ${template}`,
              status: true,
            });
          }
        }
      }
      for (const param of (op.parameters ?? []).filter((x: Schema) => x.in === 'query')) {
        for (const value of queryStrings) {
          for (const token of tokens) {
            const r = await call(
              p.baseUrl,
              method.toUpperCase(),
              `${path}?${param.name}=${encodeURIComponent(value)}`,
              { token },
            );
            requests++;
            expect(r.status).toBeLessThan(500);
          }
        }
      }
    }
  }
  h.disable();
  const p99 = h.percentile(99) / 1e6;
  expect(seen).toEqual(
    expect.arrayContaining([
      'post /items',
      'post /items/bulk',
      'put /items/{id}',
      'post /auth/register',
      'post /orders',
    ]),
  );
  expect(requests).toBeGreaterThan(500);
  // p99, not max: on a shared machine the process can be descheduled for a moment whatever it runs. Under the
  // full suite on 2 cores the healthy p99 reached 58 ms once (a 50 ms bound failed CI); a stall is seconds.
  expect(p99).toBeLessThan(200);
});

test('a customer is refused (403) before a 100 kB body for a supplier route is validated', async () => {
  const name = 'a'.repeat(98_000) + '\n';
  for (const [method, path] of [
    ['POST', '/items'],
    ['POST', '/items/bulk'],
    ['PUT', `/items/${item}`],
  ] as const) {
    const r = await call(p.baseUrl, method, path, {
      token: customer.token,
      body: path.endsWith('bulk') ? { create: [{ name }] } : { name },
    });
    expect({ path, status: r.status, code: r.body.error.code }).toEqual({ path, status: 403, code: 'forbidden' });
  }
});
