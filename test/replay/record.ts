/**
 * Records one history per branch of the order saga from real runs (API, worker, MySQL, Redis, gateway
 * simulator) into test/replay/histories/, for test/replay/replay.test.ts to replay on every test run.
 * Histories recorded by an older workflow version stay, renamed with its prefix (pre-archive-*: before the
 * archive step), so the patched() paths for sagas still in flight keep being replayed.
 * Re-record after an intended workflow change that is guarded by patched():
 *   npm run build && node dist/test/replay/record.js   (with the test stores in the environment, see scripts/test.sh)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';

const OUT = path.resolve(__dirname, '../../../test/replay/histories');

async function record(p: Platform, name: string, run: (u: TestUser, item: string) => Promise<string>): Promise<void> {
  const u = await makeUser(p.stores.mysql, p.deps.tokens);
  const item = await makeItem(p.stores.mysql, { stock: 3, price: 12.5 });
  const workflowId = await run(u, item);
  const handle = p.stores.temporal.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined);
  const history = await handle.fetchHistory();
  writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
  console.log(`recorded ${name} (${history.events?.length} events)`);
}

const place = async (p: Platform, u: TestUser, item: string, method: string, quantity = 1) => {
  const r = await call(p.baseUrl, 'POST', '/orders', { token: u.token, body: { user_id: u.userId, items: [{ item_id: item, quantity }], payment_method: method } });
  return (r.body.order_id ?? r.body.error?.details?.order_id) as string;
};
const statusIs = (p: Platform, u: TestUser, id: string, status: string) =>
  eventually(async () => (await call(p.baseUrl, 'GET', `/orders/${id}`, { token: u.token })).body.status === status, 30_000);

async function main() {
  mkdirSync(OUT, { recursive: true });
  const env = { ORDER_PAYMENT_TIMEOUT: '1500ms', ORDER_LATE_PAYMENT_WINDOW: '5s', GATEWAY_LATE_SUCCESS_DELAY: '200' };
  const p = await startPlatform({ env });
  const admin = await makeUser(p.stores.mysql, p.deps.tokens, 'admin');
  try {
    await record(p, 'delivered', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin.token });
      await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin.token });
      return id;
    });
    // No 'out-of-stock' recording: the API refuses a short order before any saga starts, so that branch only
    // exists in pre-archive-out-of-stock.json (recorded when the saga reserved first), which keeps replaying.
    await record(p, 'declined', (u, item) => place(p, u, item, 'pm_card_chargeDeclined'));
    await record(p, 'no-response', (u, item) => place(p, u, item, 'pm_card_noResponse'));
    await record(p, 'late-success-refunded', (u, item) => place(p, u, item, 'pm_card_lateSuccess'));
    await record(p, 'canceled-while-waiting', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_noResponse');
      await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: u.token });
      return id;
    });
    await record(p, 'cancel-refused-in-transit', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await call(p.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin.token });
      const refused = await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: u.token });
      if (refused.status !== 409) throw new Error(`cancel in transit answered ${refused.status}`);
      await call(p.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin.token });
      return id;
    });
    await record(p, 'canceled-after-placed', async (u, item) => {
      const id = await place(p, u, item, 'pm_card_visa');
      await statusIs(p, u, id, 'placed');
      await call(p.baseUrl, 'POST', `/orders/${id}/cancel`, { token: u.token });
      return id;
    });
  } finally {
    await p.stop();
  }
  const accept = await startPlatform({ env: { ...env, LATE_PAYMENT_POLICY: 'accept' } });
  const admin2 = await makeUser(accept.stores.mysql, accept.deps.tokens, 'admin');
  try {
    await record(accept, 'late-success-accepted', async (u, item) => {
      const id = await place(accept, u, item, 'pm_card_lateSuccess');
      await statusIs(accept, u, id, 'placed');
      await call(accept.baseUrl, 'POST', `/orders/${id}/ship`, { token: admin2.token });
      await call(accept.baseUrl, 'POST', `/orders/${id}/deliver`, { token: admin2.token });
      return id;
    });
  } finally {
    await accept.stop();
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
