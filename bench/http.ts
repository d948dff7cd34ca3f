/**
 * HTTP benchmark of the read paths and the sold-out order (issue 12; prints figures, not a test). Run by
 * `npm run bench:http` (scripts/bench-http.sh), which brings the stack up and points the stores at the bench's
 * own database, Mongo database and search index.
 *  1. Seeds BENCH_ITEMS (100,000) items when the database lacks them: bulk SQL (multi-row INSERTs) and the
 *     search engine's bulk API; 200 buyers (one password hash for all) and a sold-out item.
 *  2. Starts the API as `npm start` does (dist/api/cluster.js, API_PROCESSES, logs at info into
 *     .stack/logs/bench-api.log) with the rate limits raised so that they do not answer instead.
 *  3. Each probe runs with wrk (one thread, BENCH_CONNECTIONS connections, BENCH_SECONDS) right after a run of
 *     GET /healthz, and is printed as requests/s, p50, p99 and the ratio to that /healthz.
 *  4. The distinct-query probe also prints how many of its searches Redis answered from the result cache (Redis's
 *     keyspace hit/miss counters over the probe): a query comes round again after QUERIES requests, so the faster
 *     the API, the more of them are within SEARCH_CACHE_TTL. `SEARCH_CACHE_TTL=0 npm run bench:http` measures the
 *     engine path alone.
 */
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { config } from '../lib/config';
import { createMysql } from '../stores/mysql/client';
import { createRedis } from '../stores/redis/client';
import type { Redis } from 'ioredis';
import { createSearch } from '../stores/search';
import { hashPassword } from '../users/passwords';
import { TokenService } from '../api/auth';
import type { ItemDocument } from '../stores/search/mapping';

const env = process.env;
const N = Number(env.BENCH_ITEMS ?? 100_000);
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 200);
const DISTINCT_CONNECTIONS = Number(env.BENCH_DISTINCT_CONNECTIONS ?? 50);
const QUERIES = Number(env.BENCH_QUERIES ?? 1000);
/** BENCH_PROBES, e.g. "items,orders": run only these probes (items, hot, distinct, orders); all by default. */
const PROBES = new Set((env.BENCH_PROBES ?? 'items,hot,distinct,orders').split(','));
const BUYERS = 200;
const PORT = Number(env.PORT ?? 3390);
const LOG = path.resolve(env.LOG_DIR ?? '.stack/logs', 'bench-api.log');

const ADJ = [
  'smart',
  'wireless',
  'compact',
  'premium',
  'classic',
  'portable',
  'ultra',
  'pro',
  'mini',
  'deluxe',
  'quiet',
  'rugged',
  'slim',
  'retro',
  'solar',
  'steel',
  'wooden',
  'glass',
  'cotton',
  'leather',
  'digital',
  'analog',
  'foldable',
  'heated',
  'cordless',
];
const NOUN = [
  'tv',
  'speaker',
  'headphones',
  'laptop',
  'phone',
  'camera',
  'lamp',
  'chair',
  'desk',
  'blender',
  'drill',
  'ball',
  'jacket',
  'watch',
  'router',
  'monitor',
  'keyboard',
  'mouse',
  'tablet',
  'charger',
  'kettle',
  'toaster',
  'backpack',
  'tent',
  'bicycle',
  'guitar',
  'printer',
  'mirror',
  'rug',
  'pillow',
  'sofa',
  'heater',
  'fan',
  'grill',
  'scale',
  'clock',
  'vase',
  'bottle',
  'helmet',
  'sneakers',
];
const BRAND = [
  'Sony',
  'Samsung',
  'Bose',
  'Philips',
  'Dell',
  'Canon',
  'Anker',
  'Dyson',
  'Bosch',
  'Lego',
  'Nike',
  'Puma',
  'Acme',
  'Zenith',
  'Orion',
];
const CATEGORIES = ['Electronics', 'Home', 'Garden', 'Toys', 'Sports', 'Fashion', 'Office', 'Outdoors'];

function item(i: number) {
  const adj = ADJ[i % ADJ.length]!;
  const noun = NOUN[Math.floor(i / ADJ.length) % NOUN.length]!;
  const brand = BRAND[i % BRAND.length]!;
  return {
    item_id: `hb-${String(i).padStart(6, '0')}`,
    name: `${brand} ${adj} ${noun} ${i % 997}`,
    category: CATEGORIES[i % CATEGORIES.length]!,
    description: `A ${adj} ${noun} by ${brand}.`,
    price: 5 + (i % 500),
    stock: 1_000_000,
  };
}

async function seed() {
  const cfg = config();
  const mysql = createMysql(cfg.MYSQL_URL, 4);
  const search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, cfg.SEARCH_INDEX);
  try {
    await search.ensureIndex();
    const [[{ n }]] = await mysql.raw(`SELECT COUNT(*) AS n FROM items WHERE item_id LIKE 'hb-%'`);
    if (Number(n) < N) {
      const t0 = Date.now();
      for (let i = 0; i < N; i += 2000) {
        const rows = Array.from({ length: Math.min(2000, N - i) }, (_, k) => item(i + k));
        await mysql.raw(`${mysql('items').insert(rows).toString()} ON DUPLICATE KEY UPDATE stock = VALUES(stock)`);
      }
      for (let i = 0; i < N; i += 5000) {
        const docs = Array.from({ length: Math.min(5000, N - i) }, (_, k) => {
          const r = item(i + k);
          const doc: ItemDocument = {
            ...r,
            supplier_id: null,
            in_stock: true,
            images: [],
            attributes: {},
            updated_at: new Date().toISOString(),
          };
          return { doc, version: 1 };
        });
        const out = await search.bulkUpsert(docs);
        if (out.failed.length) throw new Error(`bulk index refused ${out.failed.length}: ${out.failed[0]!.reason}`);
      }
      await search.refresh();
      console.log(
        `seeded ${N} items (MySQL multi-row INSERTs + bulk index) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    await mysql('items')
      .insert({ item_id: 'hb-soldout', name: 'Bench sold-out item', category: 'Bench', price: 10, stock: 0 })
      .onConflict('item_id')
      .merge({ stock: 0, listed: true });
    const hash = await hashPassword('bench-password');
    const users = Array.from({ length: BUYERS }, (_, i) => ({
      user_id: `u-hb-${i}`,
      name: `Bench buyer ${i}`,
      email: `hb-${i}@bench.shopflow.dev`,
      role: 'customer',
      password_hash: hash,
    }));
    await mysql('users').insert(users).onConflict('user_id').ignore();
    const tokens = new TokenService(cfg.JWT_SECRET, 3600);
    return users.map((u) => ({ user: u.user_id, token: tokens.issue({ userId: u.user_id, role: 'customer' }) }));
  } finally {
    await mysql.destroy();
    await search.close();
  }
}

async function startApi(): Promise<ChildProcess> {
  const out = openSync(LOG, 'w'); // this run's log only (a run logs every 4xx: tens of MB)
  // BENCH_API_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the API processes under the probes.
  const nodeArgs = (env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.resolve(__dirname, '../api/cluster.js')], {
    env: {
      ...env,
      PORT: String(PORT),
      LOG_LEVEL: env.BENCH_API_LOG_LEVEL ?? 'info',
      RATE_LIMIT_ORDERS: '100000000',
      RATE_LIMIT_LOGIN: '100000000',
      RATE_LIMIT_SEARCH_CLICKS: '100000000',
      PURCHASE_MAX_UNPAID_ORDERS: '100000',
      PURCHASE_MAX_UNITS_PER_ITEM: '100000000',
      PURCHASE_EXPIRED_COOLDOWN: '0',
    },
    stdio: ['ignore', out, out],
  });
  for (let i = 0; i < 150; i++) {
    if (
      await fetch(`http://127.0.0.1:${PORT}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`the API did not start (see ${LOG})`);
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  errors: string;
}

function wrk(script: string, connections: number, seconds = SECONDS, extraEnv: Record<string, string> = {}): Run {
  const out = execFileSync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `http://127.0.0.1:${PORT}`],
    { env: { ...env, ...extraEnv }, encoding: 'utf8' },
  );
  const unit = (v: string, u: string) => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : u === 'm' ? 60_000 : 1);
  const lat = (q: string) => {
    const m = out.match(new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s|m)`, 'm'));
    return m ? unit(m[1]!, m[2]!) : NaN;
  };
  const statuses: Record<string, number> = {};
  for (const m of out.matchAll(/^status (\d+) (\d+)$/gm)) statuses[m[1]!] = Number(m[2]);
  return {
    rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN),
    p50: lat('50'),
    p99: lat('99'),
    statuses,
    errors: out.match(/Socket errors:.*$/m)?.[0] ?? '',
  };
}

async function main() {
  const buyers = await seed();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-http-'));
  const status = readFileSync(path.resolve(__dirname, '../../bench/wrk/status.lua'), 'utf8');
  const script = (name: string) => {
    const f = path.join(dir, `${name}.lua`);
    writeFileSync(f, readFileSync(path.resolve(__dirname, `../../bench/wrk/${name}.lua`), 'utf8') + '\n' + status);
    return f;
  };
  const paths = (name: string, lines: string[]) => {
    const f = path.join(dir, `${name}.txt`);
    writeFileSync(f, lines.join('\n') + '\n');
    return { BENCH_PATHS_FILE: f };
  };
  const pathsScript = script('paths');
  const ordersScript = script('orders');
  const ordersFile = path.join(dir, 'orders.txt');
  writeFileSync(ordersFile, buyers.map((b) => `${b.user} ${b.token} hb-soldout`).join('\n') + '\n');
  const distinct = Array.from(
    { length: QUERIES },
    (_, i) =>
      `/search?query=${encodeURIComponent(`${ADJ[i % ADJ.length]} ${NOUN[Math.floor(i / ADJ.length) % NOUN.length]}`)}${i >= ADJ.length * NOUN.length ? `&min_price=${i % 50}` : ''}`,
  );

  const cfg = config();
  const mysql = createMysql(cfg.MYSQL_URL, 2);
  const [[{ since }]] = await mysql.raw('SELECT COALESCE(MAX(id), 0) AS since FROM outbox');
  let reads = 0;
  const api = await startApi();
  const rows: string[] = [];
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 1 : 0) : 'n/a');
  const probe = (name: string, label: string, run: () => Run) => {
    if (!PROBES.has(name)) return;
    const health = wrk(pathsScript, CONNECTIONS, SECONDS, paths('healthz', ['/healthz']));
    const r = run();
    const codes = Object.entries(r.statuses)
      .map(([c, n]) => `${c}:${n}`)
      .join(' ');
    if (label.startsWith('`GET /items') || label.startsWith('`GET /search')) reads += r.statuses['200'] ?? 0;
    rows.push(
      `| ${label} | ${fmt(r.rps)} | ${fmt(r.p50)} ms | ${fmt(r.p99)} ms | ${(r.rps / health.rps).toFixed(2)} | ${fmt(health.rps)} | ${codes} ${r.errors}|`,
    );
    console.log(rows[rows.length - 1]);
  };
  const redis = createRedis(cfg.REDIS_URL);
  try {
    // Warm-up: connections, JIT, caches (not measured).
    wrk(
      pathsScript,
      50,
      3,
      paths('warm', ['/healthz', '/items/hb-000001', '/search?query=smart%20lamp', ...distinct.slice(0, 100)]),
    );
    // The engine too: a freshly started OpenSearch answered the distinct queries at 240-340 req/s against 700+
    // once it had run them (its JIT, the index's pages in memory). The 2 s result cache of this pass has expired
    // by the distinct probe (its /healthz run comes first), so the probe's own cache figure is unchanged.
    if (PROBES.has('distinct')) wrk(pathsScript, DISTINCT_CONNECTIONS, 8, paths('warm-distinct', distinct));
    console.log(
      `\nbench:http: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, API_PROCESSES=${env.API_PROCESSES ?? '0 (one per core)'}, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, ${N} items`,
    );
    console.log(
      '| probe | requests/s | p50 | p99 | ratio to /healthz | /healthz requests/s (run just before) | answers |',
    );
    console.log('|---|---|---|---|---|---|---|');
    probe('items', '`GET /items/{id}` (one hot item)', () =>
      wrk(pathsScript, CONNECTIONS, SECONDS, paths('item', ['/items/hb-000042'])),
    );
    probe('hot', '`GET /search?query=...` (one hot query)', () =>
      wrk(pathsScript, CONNECTIONS, SECONDS, paths('hot', ['/search?query=wireless%20speaker'])),
    );
    const cacheBefore = await keyspaceCounters(redis);
    probe(
      'distinct',
      `\`GET /search\`, ${QUERIES} distinct queries over ${N / 1000}k items, ${DISTINCT_CONNECTIONS} connections`,
      () => wrk(pathsScript, DISTINCT_CONNECTIONS, SECONDS, paths('distinct', distinct)),
    );
    if (PROBES.has('distinct')) {
      const cacheAfter = await keyspaceCounters(redis);
      const hits = cacheAfter.hits - cacheBefore.hits;
      const misses = cacheAfter.misses - cacheBefore.misses;
      console.log(
        `  (distinct queries: Redis answered ${hits} of ${hits + misses} lookups from the cache, ${((100 * hits) / Math.max(1, hits + misses)).toFixed(0)}%; SEARCH_CACHE_TTL=${env.SEARCH_CACHE_TTL ?? '2s (default)'})`,
      );
    }
    probe('orders', '`POST /orders`, sold out (409)', () =>
      wrk(ordersScript, CONNECTIONS, SECONDS, { BENCH_ORDERS_FILE: ordersFile }),
    );
  } finally {
    redis.disconnect();
    api.kill('SIGTERM');
    await new Promise((r) => (api.exitCode !== null ? r(undefined) : api.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
    // Every answered view and search left its event (written by group commit, the rest at the graceful stop);
    // then they go: nothing publishes the bench database's outbox.
    const [[{ events }]] = await mysql.raw(
      `SELECT COUNT(*) AS events FROM outbox WHERE id > ? AND topic = 'shopflow.analytics'`,
      [since],
    );
    console.log(
      `analytics events in the outbox after the stop: ${events} (item views and searches answered 200 in the probes: ${reads}, plus the warm-up's)`,
    );
    await mysql.raw(`DELETE FROM outbox WHERE id > ? AND topic = 'shopflow.analytics' AND published_at IS NULL`, [
      since,
    ]);
    await mysql.destroy();
  }
}

/** Redis's keyspace hits and misses since it started (INFO stats). */
async function keyspaceCounters(redis: Redis): Promise<{ hits: number; misses: number }> {
  const info = await redis.info('stats');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { hits: field('keyspace_hits'), misses: field('keyspace_misses') };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
