/**
 * Flash-sale benchmark on the native stack (prints figures; not a test).
 *   npm run bench:flashsale              (BUYERS=200 UNITS=10 SAGAS=200 by default)
 * 1. Flash sale: BUYERS concurrent buyers for UNITS units of one item through the HTTP API: accepted and
 *    rejected orders per second, p50/p99 latency of POST /orders, oversold units (must be 0).
 * 2. Saga throughput: SAGAS concurrent orders with enough stock, timed from the first POST until every one is
 *    placed (payment charged through the gateway simulator): sagas completed per second.
 * 3. The ceiling, on the same server in the same run: SAGAS no-op workflows with one activity each, started
 *    and completed per second.
 * The API runs as `npm start` runs it (dist/api/cluster.js: API_PROCESSES processes, one per core by default);
 * the worker and the gateway simulator run in this process, the flash sale's buyers on a thread of their own.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { startPlatform } from '../test/support/platform';
import type { Knex } from 'knex';
import { makeItem, stockOf, TestUser } from '../test/support/fixtures';
import { hashPassword } from '../users/passwords';
import type { TokenService } from '../api/auth';
import { call, TEST_ADDRESS } from '../test/support/http';
import { postJson } from './buyer-client';
import type { BurstAnswers, BurstInput } from './burst-thread';
import { cpuSnapshot, cpuSplit, cpuUse, type CpuSnapshot } from './cpu-split';
import { percentile } from '../test/support/percentile';

const BUYERS = Number(process.env.BUYERS ?? 200);
const UNITS = Number(process.env.UNITS ?? 10);
const SAGAS = Number(process.env.SAGAS ?? 200);
/** BENCH_BUYERS_BROWSE=1: every buyer views the item, signed in, just before the sale (a product page left open),
 * so the burst meets accounts the API has seen in the last seconds; by default they arrive cold. */
const BROWSE = process.env.BENCH_BUYERS_BROWSE === '1';
/** BENCH_WARMUP_ROUNDS (5): small sales (WARMUP_BUYERS buyers of their own for 2 units) before the measured one,
 * through the same path, so the burst meets an API that has been serving, as a sale's API has, and not one whose
 * code has not been compiled yet (0: the burst is the API processes' first real traffic). */
const WARMUP_ROUNDS = Number(process.env.BENCH_WARMUP_ROUNDS ?? 5);
const WARMUP_BUYERS = 50;

/** Starts the API as its own process on `port`, sharing the platform's task queue. */
async function startApiProcess(
  taskQueue: string,
  port: number,
): Promise<{ url: string; pid: number; stop: () => void }> {
  // BENCH_API_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the API process under the burst.
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.resolve(__dirname, '../api/cluster.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      TEMPORAL_TASK_QUEUE: taskQueue,
      RATE_LIMIT_ORDERS: '1000000',
      MYSQL_POOL_MAX: '60',
      // BENCH_API_LOG_LEVEL (e.g. info: one line per request with its responseTime) logs into LOG_DIR/bench-flashsale-api.log.
      LOG_LEVEL: process.env.BENCH_API_LOG_LEVEL ?? 'fatal',
    },
    stdio: process.env.BENCH_API_LOG_LEVEL
      ? ['ignore', openSync(path.join(process.env.LOG_DIR ?? os.tmpdir(), 'bench-flashsale-api.log'), 'w'), 'inherit']
      : 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error('the API process did not start');
}

/** n customer accounts in bulk: one argon2 hash shared by all (hashing 2,000 passwords one by one took ~4 minutes
 * before the burst; the burst only needs their tokens). */
async function makeBuyers(mysql: Knex, tokens: TokenService, n: number): Promise<TestUser[]> {
  const passwordHash = await hashPassword('correct horse battery');
  const users: TestUser[] = Array.from({ length: n }, () => {
    const userId = `u-${randomUUID()}`;
    return {
      userId,
      token: tokens.issue({ userId, role: 'customer' }),
      email: `bench-${userId}@test.shopflow.dev`,
      role: 'customer',
    };
  });
  const rows = users.map((u) => ({
    user_id: u.userId,
    name: 'Bench buyer',
    email: u.email,
    role: 'customer',
    password_hash: passwordHash,
  }));
  await mysql.batchInsert('users', rows, 500);
  return users;
}

/** The burst on its own thread (bench/burst-thread.ts), so the worker in this process does not delay its clock. */
function burstOnThread(input: BurstInput): Promise<BurstAnswers & { cpu: [CpuSnapshot, CpuSnapshot] }> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(path.resolve(__dirname, 'burst-thread.js'), { workerData: input });
    let start: CpuSnapshot | undefined;
    thread.on('message', (m: BurstAnswers | string) => {
      if (typeof m === 'string') return void (start = cpuSnapshot());
      const end = cpuSnapshot();
      resolve({ ...m, cpu: [start ?? end, end] });
      void thread.terminate();
    });
    thread.once('error', reject);
  });
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

/** The buyers' product page, signed in, 50 at a time (not measured). */
async function browse(base: string, itemId: string, buyers: TestUser[]): Promise<void> {
  for (let i = 0; i < buyers.length; i += 50)
    await Promise.all(buyers.slice(i, i + 50).map((u) => call(base, 'GET', `/items/${itemId}`, { token: u.token })));
}

async function main() {
  const p = await startPlatform({ env: { MYSQL_POOL_MAX: '60', LOG_LEVEL: 'warn' } });
  const api = await startApiProcess(p.cfg.TEMPORAL_TASK_QUEUE, Number(process.env.BENCH_API_PORT ?? 3390));
  const base = api.url;
  const order = (u: TestUser, itemId: string) =>
    postJson(base, '/orders', u.token, {
      user_id: u.userId,
      items: [{ item_id: itemId, quantity: 1 }],
      shipping_address: TEST_ADDRESS,
    });
  try {
    const users = await makeBuyers(p.stores.mysql, p.deps.tokens, Math.max(BUYERS, SAGAS));
    // Warm-up accounts of their own: the burst's buyers stay cold unless BENCH_BUYERS_BROWSE says otherwise.
    const warmBuyers = await makeBuyers(p.stores.mysql, p.deps.tokens, WARMUP_BUYERS);
    // Warm-up: a few orders so connection pools and the workflow cache are ready.
    const warm = await makeItem(p.stores.mysql, { stock: 100 });
    await Promise.all(
      warmBuyers.slice(0, 10).map((u) =>
        call(base, 'POST', '/orders', {
          token: u.token,
          body: { user_id: u.userId, items: [{ item_id: warm, quantity: 1 }] },
        }),
      ),
    );

    // 1. Flash sale.
    const item = await makeItem(p.stores.mysql, { stock: UNITS, price: 99 });
    if (BROWSE) await browse(base, item, users.slice(0, BUYERS));
    const warmupBuyers = warmBuyers.map((u) => ({ userId: u.userId, token: u.token }));
    const warmups = [];
    for (let i = 0; i < WARMUP_ROUNDS; i++)
      warmups.push({ itemId: await makeItem(p.stores.mysql, { stock: 2, price: 99 }), buyers: warmupBuyers });
    const burst = await burstOnThread({
      warmups,
      baseUrl: base,
      itemId: item,
      buyers: users.slice(0, BUYERS).map((u) => ({ userId: u.userId, token: u.token })),
      shippingAddress: TEST_ADDRESS,
    });
    const results = burst.statuses;
    const wall = burst.wallMs / 1000;
    const latencies = [...burst.latencies].sort((a, b) => a - b);
    // The winners (201: purchase limits, the reservation, the saga's start) and the losers (409) apart: which of
    // the two makes the p99.
    const latenciesOf = (status: number) =>
      burst.latencies.filter((_, i) => results[i] === status).sort((a, b) => a - b);
    const accepted = results.filter((s) => s === 201).length;
    const rejected = results.filter((s) => s === 409).length;
    const errors = results.filter((s) => s >= 500).length;
    const failed = results.filter((s) => s === 0).length;
    const sold = Number(
      (await p.stores.mysql('order_items').where({ item_id: item }).sum({ n: 'quantity' }).first())!.n ?? 0,
    );
    const stock = await stockOf(p.stores.mysql, item);

    // 2. Saga throughput (to placed).
    const plenty = await makeItem(p.stores.mysql, { stock: SAGAS * 2, price: 5 });
    const s0 = performance.now();
    const orders = await Promise.all(users.slice(0, SAGAS).map((u) => order(u, plenty)));
    const acceptedSecs = (performance.now() - s0) / 1000;
    const sagaAnswers = new Map<number, number>();
    for (const r of orders) sagaAnswers.set(r.status, (sagaAnswers.get(r.status) ?? 0) + 1);
    const ids = orders.filter((r) => r.status === 201).map((r) => (r.body as { order_id: string }).order_id);
    for (;;) {
      const row = await p.stores
        .mysql('orders')
        .whereIn('order_id', ids)
        .where({ status: 'placed' })
        .count({ n: '*' })
        .first();
      if (Number(row!.n) === ids.length) break;
      if (performance.now() - s0 > 120_000) throw new Error('sagas did not complete in 120 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const sagaSecs = (performance.now() - s0) / 1000;

    // 3. Ceiling: no-op workflow + one activity.
    const n0 = performance.now();
    await Promise.all(
      Array.from({ length: SAGAS }, () =>
        p.stores.temporal.workflow.execute('noopWorkflow', {
          taskQueue: p.cfg.TEMPORAL_TASK_QUEUE,
          workflowId: `noop-${randomUUID()}`,
        }),
      ),
    );
    const noopSecs = (performance.now() - n0) / 1000;

    const sagaRate = ids.length / sagaSecs;
    const noopRate = SAGAS / noopSecs;
    console.log(
      `\nflash-sale benchmark on ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, native stack`,
    );
    console.log(
      `flash sale: ${BUYERS} concurrent buyers for ${UNITS} units (after ${WARMUP_ROUNDS} warm-up sales of ${WARMUP_BUYERS} buyers for 2 units)`,
    );
    console.log(
      `  accepted ${accepted} (${(accepted / wall).toFixed(1)}/s), rejected ${rejected} (${(rejected / wall).toFixed(1)}/s), 5xx ${errors}, connections failed ${failed}, wall ${wall.toFixed(2)} s`,
    );
    console.log(
      `  POST /orders latency p50 ${ms(percentile(latencies, 0.5))}  p99 ${ms(percentile(latencies, 0.99))}  max ${ms(latencies.at(-1)!)}`,
    );
    for (const [status, name] of [
      [201, 'accepted'],
      [409, 'rejected'],
    ] as const) {
      const own = latenciesOf(status);
      if (own.length > 0)
        console.log(
          `    ${name} (${status}): p50 ${ms(percentile(own, 0.5))}  p99 ${ms(percentile(own, 0.99))}  max ${ms(own.at(-1)!)}`,
        );
    }
    console.log(`  oversold units: ${Math.max(0, sold - UNITS)} (sold ${sold}, stock left ${stock})`);
    // The API, Temporal, the stores and this process (buyers, worker, gateway) share the box's cores.
    const who = (pid: number, proc: { name: string; ppid: number }) =>
      pid === api.pid || proc.ppid === api.pid ? 'api' : pid === process.pid ? 'bench (buyers, worker)' : proc.name;
    console.log(`  CPU over the burst: ${cpuSplit(burst.cpu[0], burst.cpu[1], who)}`);
    // What the rest of the box needed meanwhile bounds the last answer even for an API that cost nothing.
    const use = cpuUse(burst.cpu[0], burst.cpu[1], who);
    const rest = use.total - (use.byLabel.get('api') ?? 0);
    console.log(
      `  all but the API: ${rest.toFixed(2)} CPU-s = ${(rest / os.cpus().length).toFixed(2)} s of all ${os.cpus().length} cores (the burst's floor on this box, whatever the API costs)`,
    );
    console.log(
      `sagas: ${ids.length} orders to placed in ${sagaSecs.toFixed(2)} s = ${sagaRate.toFixed(1)} sagas/s (answered by the API after ${acceptedSecs.toFixed(2)} s: ${[...sagaAnswers].map(([status, n]) => `${n} x ${status}`).join(', ')})`,
    );
    console.log(
      `ceiling: ${SAGAS} no-op workflows (one activity) in ${noopSecs.toFixed(2)} s = ${noopRate.toFixed(1)} workflows/s`,
    );
    console.log(`sagas / ceiling: ${(sagaRate / noopRate).toFixed(2)} (issue 12 target >= 0.8)`);
  } finally {
    api.stop();
    await p.stop();
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
