/**
 * Gateway faults driven through the order saga (API + Temporal + the simulator), checking that money ends
 * right: a charge that succeeded belongs to a placed order, or is refunded or voided. Each case sets a fault
 * rule on the simulator for pm_card_visa (the tests of this file run one at a time on a simulator of their own).
 */
import { startPlatform, Platform } from '../support/platform';
import { makeItem, makeUser, stockOf, TestUser } from '../support/fixtures';
import { call, eventually } from '../support/http';
import { chargesOfOrder } from '../../payments/gateway';

let p: Platform;
let buyer: TestUser;

beforeAll(async () => {
  p = await startPlatform({ env: { ORDER_PAYMENT_TIMEOUT: '4s', ORDER_LATE_PAYMENT_WINDOW: '3s' } });
  buyer = await makeUser(p.stores.mysql, p.deps.tokens);
});
afterAll(async () => {
  await p?.stop();
});
afterEach(async () => {
  await call(p.cfg.PAYMENT_GATEWAY_URL, 'DELETE', '/v1/test/faults');
});

const setFaults = async (rules: Record<string, unknown>[]) => {
  const r = await call(p.cfg.PAYMENT_GATEWAY_URL, 'POST', '/v1/test/faults', { body: { rules } });
  expect(r.status).toBe(200);
};

/** Orders one item and waits until the saga has settled the money: placed, or canceled and the saga closed. */
async function orderAndSettle(): Promise<{ orderId: string; itemId: string; status: string; paymentStatus: string }> {
  const itemId = await makeItem(p.stores.mysql, { stock: 3, price: 12.34 });
  const r = await call(p.baseUrl, 'POST', '/orders', {
    token: buyer.token,
    body: { user_id: buyer.userId, items: [{ item_id: itemId, quantity: 1 }] },
  });
  expect(r.status).toBe(201);
  const orderId = r.body.order_id as string;
  const handle = p.stores.temporal.workflow.getHandle(orderId);
  const settled = await eventually(
    async () => {
      const o = (await call(p.baseUrl, 'GET', `/orders/${orderId}`, { token: buyer.token })).body;
      if (o.status === 'placed') return o;
      if (o.status === 'canceled' && (await handle.describe()).status.name !== 'RUNNING') return o;
      return null;
    },
    40_000,
    200,
  );
  return { orderId, itemId, status: settled.status, paymentStatus: settled.payment_status };
}

/** Money ends right: placed with one kept succeeded charge, or canceled with nothing kept. */
async function expectMoneyRight(o: { orderId: string; itemId: string; status: string; paymentStatus: string }) {
  const charges = await chargesOfOrder(p.gateway, o.orderId);
  const kept = charges.filter((c) => c.status === 'succeeded' && c.amountRefundedMinor === 0);
  if (o.status === 'placed') {
    expect(o.paymentStatus).toBe('succeeded');
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ amountMinor: 1234, currency: 'USD' });
    expect(await stockOf(p.stores.mysql, o.itemId)).toBe(2);
  } else {
    expect(o.status).toBe('canceled');
    expect(charges.filter((c) => c.status === 'succeeded')).toEqual([]); // every success was refunded (or none was made)
    expect(await stockOf(p.stores.mysql, o.itemId)).toBe(3);
  }
  return charges;
}

describe('pm_card_visa with a fault on the charge request', () => {
  test('error_after_charge once: the retry finds the charge; placed', async () => {
    await setFaults([{ fault: 'error_after_charge', payment_method: 'pm_card_visa', times: 1 }]);
    const o = await orderAndSettle();
    await expectMoneyRight(o);
    expect(o.status).toBe('placed');
  });

  test('error_after_charge on every attempt: money ends right (the webhook tells the saga)', async () => {
    await setFaults([{ fault: 'error_after_charge', payment_method: 'pm_card_visa' }]);
    await expectMoneyRight(await orderAndSettle());
  });

  test('timeout_after_charge once: the retry finds the charge; placed', async () => {
    await setFaults([{ fault: 'timeout_after_charge', payment_method: 'pm_card_visa', times: 1 }]);
    const o = await orderAndSettle();
    await expectMoneyRight(o);
    expect(o.status).toBe('placed');
  });

  test('timeout_after_charge on every attempt: money ends right (the webhook tells the saga)', async () => {
    await setFaults([{ fault: 'timeout_after_charge', payment_method: 'pm_card_visa' }]);
    await expectMoneyRight(await orderAndSettle());
  });

  test('error_before_charge on every attempt: no charge; canceled, stock back', async () => {
    await setFaults([{ fault: 'error_before_charge', payment_method: 'pm_card_visa' }]);
    const o = await orderAndSettle();
    expect(o.status).toBe('canceled');
    expect(await expectMoneyRight(o)).toEqual([]);
  });

  test('slow answers past the client timeout: money ends right', async () => {
    await setFaults([{ fault: 'slow', payment_method: 'pm_card_visa', delay_ms: 3000 }]);
    await expectMoneyRight(await orderAndSettle());
  });
});

describe('the saga never hears of a charge that was made (its answers and its webhooks lost)', () => {
  // These need the saga to look for the order's charges when its payment timer fires (the lead's saga work):
  // a charge that succeeded at the gateway must be refunded even though no answer and no webhook said so.
  test('error_after_charge on every attempt, webhooks dropped: the charge is refunded', async () => {
    await setFaults([
      { fault: 'error_after_charge', payment_method: 'pm_card_visa' },
      { fault: 'drop_webhooks', payment_method: 'pm_card_visa' },
    ]);
    await expectMoneyRight(await orderAndSettle());
  });

  test('timeout_after_charge on every attempt, webhooks dropped: the charge is refunded', async () => {
    await setFaults([
      { fault: 'timeout_after_charge', payment_method: 'pm_card_visa' },
      { fault: 'drop_webhooks', payment_method: 'pm_card_visa' },
    ]);
    await expectMoneyRight(await orderAndSettle());
  });
});
