/**
 * LATE_PAYMENT_POLICY=accept's store step on the real MySQL (activities/order-state-activities.ts
 * acceptLatePayment): an order canceled at its payment deadline is placed again with the late charge when its
 * stock can still be taken (the same `take_stock` procedure as a reservation, without its commit), once however
 * often it runs; when the stock is gone it stays canceled and nothing is taken.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { createFailFastRedis } from '../../stores/redis/client';
import { createUser } from '../../users/repository';
import { createOrderStateActivities } from '../../activities/order-state-activities';
import type { OrderActivityContext } from '../../activities/deps';
import { makeOrder, stockOf } from '../support/fixtures';

const cfg = loadConfig(process.env);
const mysql = createMysql(cfg.MYSQL_URL);
const redis = createFailFastRedis(cfg.REDIS_URL, 1_000); // the cancel's sold-out gate
const steps = createOrderStateActivities({ mysql, redis } as unknown as OrderActivityContext);
afterAll(async () => {
  redis.disconnect();
  await mysql.destroy();
});

let userId: string;
beforeAll(async () => {
  const u = await createUser(mysql, {
    name: 'Late payment test',
    email: `late-${randomUUID()}@test.shopflow.dev`,
    password: 'correct horse battery',
    role: 'customer',
    supplierApproved: true,
  });
  userId = u.user_id;
});

/** An order of 2 units of a fresh item (stock 3), canceled at its payment deadline: the stock is back. */
async function expiredOrder(): Promise<{ orderId: string; itemId: string }> {
  const { orderId, itemId } = await makeOrder(mysql, userId, { stock: 3, quantity: 2 });
  await steps.cancelOrder({ orderId, reason: 'payment_timeout', paymentStatus: 'expired' });
  expect(await stockOf(mysql, itemId)).toBe(3);
  return { orderId, itemId };
}

const orderRow = (orderId: string) =>
  mysql('orders').select('status', 'late_payment', 'charge_id', 'cancel_reason').where({ order_id: orderId }).first();

test('the stock is still there: placed again with the late charge, its stock taken once however often it runs', async () => {
  const { orderId, itemId } = await expiredOrder();
  expect(await steps.acceptLatePayment({ orderId, chargeId: 'ch_late' })).toBe(true);
  expect(await orderRow(orderId)).toEqual({
    status: 'placed',
    late_payment: 'accepted',
    charge_id: 'ch_late',
    cancel_reason: null,
  });
  expect(await stockOf(mysql, itemId)).toBe(1);
  // Again (a retry after a lost answer) and twice at once: still placed, nothing taken again.
  expect(
    await Promise.all([
      steps.acceptLatePayment({ orderId, chargeId: 'ch_late' }),
      steps.acceptLatePayment({ orderId, chargeId: 'ch_late' }),
    ]),
  ).toEqual([true, true]);
  expect(await stockOf(mysql, itemId)).toBe(1);
});

test('the stock is gone: refused, the order stays canceled and no stock is taken', async () => {
  const { orderId, itemId } = await expiredOrder();
  await mysql('items').where({ item_id: itemId }).update({ stock: 1 }); // sold to someone else meanwhile
  expect(await steps.acceptLatePayment({ orderId, chargeId: 'ch_late' })).toBe(false);
  expect((await orderRow(orderId))?.status).toBe('canceled');
  expect(await stockOf(mysql, itemId)).toBe(1);
});
