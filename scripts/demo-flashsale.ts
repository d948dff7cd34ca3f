/**
 * A flash sale anyone can run against the running API (`npm run demo:flashsale`): the demo seller restocks
 * the flash-sale item to UNITS units, BUYERS new buyers order one each at the same moment, and the script
 * prints who won, the 409s, and the sold-out item leaving search.
 *
 * The buyers' accounts are written straight to MySQL and their tokens signed with the API's JWT_SECRET (the
 * same environment as `npm start`): sign-up and login are rate-limited per IP, as they should be, which would
 * make a crowd from one machine wait minutes. Everything else goes through the HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { config } from '../lib/config';
import { createMysql } from '../stores/mysql/client';
import { createUser } from '../users/repository';
import { TokenService } from '../api/auth';
import { DEMO_SELLERS, FLASH_ITEM_ID } from '../demo/catalog';
import { DEMO_ADDRESS } from '../demo/address';

const cfg = config();
const API = process.env.API_URL ?? `http://127.0.0.1:${cfg.PORT}`;
const BUYERS = Number(process.env.BUYERS ?? 30);
const UNITS = Number(process.env.UNITS ?? 5);

async function api(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(API + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const inSearch = async () =>
  ((await api('GET', `/search?query=${encodeURIComponent('flash sneakers')}`)).body as { item_id: string }[]).some(
    (h) => h.item_id === FLASH_ITEM_ID,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const seller = DEMO_SELLERS.find((s) => s.key === 'stride')!;
  const login = await api('POST', '/auth/login', undefined, { email: seller.email, password: cfg.DEMO_PASSWORD });
  if (login.status !== 200)
    throw new Error(
      `the demo seller cannot log in (${login.status}): is the API at ${API} running with the demo data?`,
    );
  const restock = await api('PUT', `/items/${FLASH_ITEM_ID}`, login.body.token, { stock: UNITS, listed: true });
  if (restock.status !== 200)
    throw new Error(`restocking ${FLASH_ITEM_ID} failed: ${restock.status} ${JSON.stringify(restock.body)}`);
  console.log(`${seller.name} restocked "${restock.body.name}" (${FLASH_ITEM_ID}) to ${UNITS} units`);
  for (let i = 0; i < 50 && !(await inSearch()); i++) await sleep(200);
  console.log(`search for "flash sneakers" shows it: ${await inSearch()}`);

  const mysql = createMysql(cfg.MYSQL_URL, 5);
  const tokens = new TokenService(cfg.JWT_SECRET, 3600);
  const run = randomUUID().slice(0, 6);
  const buyers = [];
  try {
    for (let i = 1; i <= BUYERS; i++) {
      const u = await createUser(mysql, {
        name: `Flash buyer ${i}`,
        email: `flash-${run}-${i}@demo.shopflow.dev`,
        password: randomUUID(),
      });
      buyers.push({ ...u, token: tokens.issue({ userId: u.user_id, role: 'customer' }) });
    }
  } finally {
    await mysql.destroy();
  }
  console.log(`${BUYERS} buyers order 1 unit each, all at once...`);
  const t0 = Date.now();
  const results = await Promise.all(
    buyers.map(async (b) => ({
      b,
      r: await api('POST', '/orders', b.token, {
        user_id: b.user_id,
        items: [{ item_id: FLASH_ITEM_ID, quantity: 1 }],
        shipping_address: { ...DEMO_ADDRESS, name: b.name },
      }),
    })),
  );
  const won = results.filter((x) => x.r.status === 201);
  const refused = results.filter((x) => x.r.status === 409);
  const other = results.filter((x) => x.r.status !== 201 && x.r.status !== 409);
  console.log(
    `in ${Date.now() - t0} ms: ${won.length} orders created, ${refused.length} refused with 409 (${[...new Set(refused.map((x) => x.r.body.error.code))].join(', ')}), ${other.length} other`,
  );
  for (const x of won) console.log(`  won: ${x.b.email}  order ${x.r.body.order_id}`);
  for (const x of other) console.log(`  unexpected: ${x.r.status} ${JSON.stringify(x.r.body)}`);

  // Payment goes through the saga (the simulator's test card succeeds): each winner's order becomes placed.
  for (const x of won) {
    let status = x.r.body.status;
    for (let i = 0; i < 50 && status === 'created'; i++) {
      await sleep(200);
      status = (await api('GET', `/orders/${x.r.body.order_id}`, x.b.token)).body.status;
    }
    console.log(`  ${x.r.body.order_id}: ${status}`);
  }
  const item = await api('GET', `/items/${FLASH_ITEM_ID}`);
  console.log(`stock left: ${item.body.stock}`);
  const t1 = Date.now();
  let shown = await inSearch();
  for (let i = 0; i < 100 && shown; i++) {
    await sleep(100);
    shown = await inSearch();
  }
  console.log(
    shown
      ? 'the item is still in search after 10 s (is the search indexer running?)'
      : `the sold-out item left search (${Date.now() - t1} ms after the last order was placed)`,
  );
  console.log(
    `Temporal Web UI: ${cfg.TEMPORAL_UI_URL}/namespaces/${cfg.TEMPORAL_NAMESPACE}/workflows (one saga per order id above); Mailpit: ${process.env.MAILPIT_URL ?? 'http://127.0.0.1:8025'} (the winners' and the seller's e-mails)`,
  );
}

main().catch((err) => {
  console.error(String(err?.message ?? err));
  process.exit(1);
});
