/**
 * The payment gateway simulator as a provider: real HTTP through the app's adapter (payments/gateway.ts) and
 * raw calls, a real SQLite file, a real webhook receiver that checks signatures. Covers idempotency, retrieve
 * and list, void, refunds, durability across a close and reopen of the same file, webhooks (signed, retried,
 * duplicated, reordered, dropped) and each injected fault.
 */
import http from 'node:http';
import { ChildProcess, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGatewaySimulator, GatewaySimulator } from '../../payments/simulator';
import { chargesOfOrder, GatewayRejected, GatewayUnavailable, HttpPaymentGateway } from '../../payments/gateway';
import { SIGNATURE_HEADER, verifySignature } from '../../payments/webhook-signature';
import { call, eventually } from '../support/http';

const SECRET = 'gateway-simulator-test-secret';

interface Received {
  id: string;
  type: string;
  charge_id: string;
  order_id: string;
  amount: number;
  currency: string;
  data: { object: { status: string; amount_refunded: number }; refund?: { amount: number } };
}

/** A webhook receiver: records signed events it acknowledges, refuses the first `failFirst` attempts of each. */
class Receiver {
  readonly acked: Received[] = [];
  readonly attempts = new Map<string, number>();
  badSignatures = 0;
  failFirst = 0;
  private server!: http.Server;
  url = '';

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (!verifySignature(SECRET, raw, req.headers[SIGNATURE_HEADER] as string | undefined)) {
          this.badSignatures++;
          res.writeHead(401).end();
          return;
        }
        const ev = JSON.parse(raw) as Received;
        const n = (this.attempts.get(ev.id) ?? 0) + 1;
        this.attempts.set(ev.id, n);
        if (n <= this.failFirst) {
          res.writeHead(500).end();
          return;
        }
        this.acked.push(ev);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      });
    });
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  of(chargeId: string, type?: string): Received[] {
    return this.acked.filter((e) => e.charge_id === chargeId && (!type || e.type === type));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'shopflow-gw-test-'));
const receiver = new Receiver();
let sim: GatewaySimulator;
let base = '';
let gw: HttpPaymentGateway;

async function startSim(dbPath: string, webhookUrl = receiver.url): Promise<{ sim: GatewaySimulator; base: string }> {
  const s = createGatewaySimulator({
    dbPath,
    latencyMs: 5,
    webhookUrl,
    webhookSecret: SECRET,
    lateSuccessAfterExpiryMs: 100,
    webhookRetryBaseMs: 50,
    webhookRetryMaxMs: 400,
    tickMs: 20,
  });
  const port = await s.listen(0);
  return { sim: s, base: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  await receiver.start();
  ({ sim, base } = await startSim(join(dir, 'main.sqlite')));
  gw = new HttpPaymentGateway(base, 2000);
});

afterAll(async () => {
  await sim.close();
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  receiver.failFirst = 0;
  await call(base, 'DELETE', '/v1/test/faults');
});

const orderId = () => `ord-${randomUUID()}`;
/** One expiry for every request of this file, so a retried request has the same body as the first. */
const EXPIRES = new Date(Date.now() + 3_600_000).toISOString();
const chargeReq = (
  o: string,
  extra: Partial<{ amountMinor: number; paymentMethod: string; expiresAt: string; idempotencyKey: string }> = {},
) => ({
  idempotencyKey: o,
  orderId: o,
  amountMinor: 4499,
  currency: 'USD',
  paymentMethod: 'pm_card_visa',
  expiresAt: EXPIRES,
  ...extra,
});
const wireCharge = (o: string, extra: Record<string, unknown> = {}) => ({
  order_id: o,
  amount: 4499,
  currency: 'USD',
  payment_method: 'pm_card_visa',
  expires_at: EXPIRES,
  ...extra,
});
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

describe('charges', () => {
  test('the same idempotency key and body answer the same charge; another body is refused with 422', async () => {
    const o = orderId();
    const req = chargeReq(o);
    const first = await gw.createCharge(req);
    expect(first).toMatchObject({
      orderId: o,
      idempotencyKey: o,
      amountMinor: 4499,
      currency: 'USD',
      status: 'succeeded',
      amountRefundedMinor: 0,
      refunds: [],
    });
    expect(first.chargeId).toMatch(/^ch_/);
    const again = await gw.createCharge(req);
    expect(again.chargeId).toBe(first.chargeId);
    const other = await rejection(gw.createCharge({ ...req, amountMinor: 5000 }));
    expect(other).toBeInstanceOf(GatewayRejected);
    expect(other).toMatchObject({ status: 422, code: 'idempotency_key_mismatch' });
    expect(await chargesOfOrder(gw, o)).toHaveLength(1);
  });

  test('bad requests are 400 in the error format: no key, unknown method, fractional amount, bad currency', async () => {
    const o = orderId();
    const noKey = await call(base, 'POST', '/v1/charges', { body: wireCharge(o) });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error).toMatchObject({ code: 'idempotency_key_required' });
    const key = { 'idempotency-key': o };
    const unknown = await call(base, 'POST', '/v1/charges', {
      headers: key,
      body: wireCharge(o, { payment_method: 'pm_card_amex_fake' }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('unknown_payment_method');
    for (const bad of [{ amount: 44.99 }, { amount: -1 }, { currency: 'dollars' }, { expires_at: 'soon' }]) {
      const r = await call(base, 'POST', '/v1/charges', { headers: key, body: wireCharge(o, bad) });
      expect(r.status).toBe(400);
      expect(typeof r.body.error.message).toBe('string');
    }
    const badJson = await call(base, 'POST', '/v1/charges', { headers: key, rawBody: '{"order_id":' });
    expect(badJson.body.error.code).toBe('invalid_json');
    expect(await chargesOfOrder(gw, o)).toHaveLength(0);
  });

  test('a declined card answers 200 with a declined charge and sends charge.failed', async () => {
    const o = orderId();
    const c = await gw.createCharge(chargeReq(o, { paymentMethod: 'pm_card_chargeDeclined' }));
    expect(c).toMatchObject({ status: 'declined', declineCode: 'card_declined' });
    const [ev] = await eventually(
      async () => receiver.of(c.chargeId, 'charge.failed').length > 0 && receiver.of(c.chargeId, 'charge.failed'),
    );
    expect(ev).toMatchObject({ order_id: o, amount: 4499, currency: 'USD', data: { object: { status: 'declined' } } });
  });

  test('a synchronous success sends charge.succeeded with the amount and currency', async () => {
    const o = orderId();
    const c = await gw.createCharge(chargeReq(o, { amountMinor: 1234 }));
    const [ev] = await eventually(
      async () => receiver.of(c.chargeId, 'charge.succeeded').length > 0 && receiver.of(c.chargeId, 'charge.succeeded'),
    );
    expect(ev).toMatchObject({ order_id: o, charge_id: c.chargeId, amount: 1234, currency: 'USD' });
    expect(ev!.id).toMatch(/^evt_/);
    expect(receiver.badSignatures).toBe(0);
  });

  test('retrieve by charge id, by order id (its latest charge), by idempotency key; list pages oldest first', async () => {
    const o = orderId();
    const a = await gw.createCharge(chargeReq(o, { idempotencyKey: `${o}-a`, amountMinor: 100 }));
    const b = await gw.createCharge(chargeReq(o, { idempotencyKey: `${o}-b`, amountMinor: 200 }));
    const c = await gw.createCharge(chargeReq(o, { idempotencyKey: `${o}-c`, amountMinor: 300 }));
    expect((await gw.retrieveCharge(a.chargeId))?.amountMinor).toBe(100);
    expect((await gw.retrieveCharge(o))?.chargeId).toBe(c.chargeId);
    expect(await gw.retrieveCharge('ch_nonexistent')).toBeNull();
    expect(await gw.retrieveCharge(orderId())).toBeNull();
    const missing = await call(base, 'GET', '/v1/charges/ch_nonexistent');
    expect(missing.body.error.code).toBe('resource_missing');
    const byKey = await gw.listCharges({ idempotencyKey: `${o}-b` });
    expect(byKey.charges.map((x) => x.chargeId)).toEqual([b.chargeId]);
    const page1 = await gw.listCharges({ orderId: o, limit: 2 });
    expect(page1.charges.map((x) => x.chargeId)).toEqual([a.chargeId, b.chargeId]);
    expect(page1.hasMore).toBe(true);
    const page2 = await gw.listCharges({ orderId: o, limit: 2, startingAfter: b.chargeId });
    expect(page2).toEqual({ charges: [expect.objectContaining({ chargeId: c.chargeId })], hasMore: false });
    expect((await chargesOfOrder(gw, o)).map((x) => x.amountMinor)).toEqual([100, 200, 300]);
    const later = await gw.listCharges({ orderId: o, createdAfter: new Date(Date.now() + 60_000).toISOString() });
    expect(later.charges).toEqual([]);
    const tooMany = await call(base, 'GET', `/v1/charges?order_id=${o}&limit=1001`);
    expect(tooMany.status).toBe(400);
  });
});

describe('void', () => {
  test('a pending charge is voided (idempotently); a succeeded one is refused with 409', async () => {
    const o = orderId();
    const short = new HttpPaymentGateway(base, 300);
    // pm_card_noResponse makes a pending charge and never answers: the caller times out.
    expect(await rejection(short.createCharge(chargeReq(o, { paymentMethod: 'pm_card_noResponse' })))).toBeInstanceOf(
      GatewayUnavailable,
    );
    const [pending] = await chargesOfOrder(gw, o);
    expect(pending).toMatchObject({ status: 'pending', paymentMethod: 'pm_card_noResponse' });
    expect((await gw.voidCharge(pending!.chargeId, `void-${pending!.chargeId}`)).status).toBe('voided');
    expect((await gw.voidCharge(pending!.chargeId, `void-${pending!.chargeId}`)).status).toBe('voided');
    const paid = await gw.createCharge(chargeReq(orderId()));
    expect(await rejection(gw.voidCharge(paid.chargeId, 'v'))).toMatchObject({
      status: 409,
      code: 'charge_not_pending',
    });
    expect(await rejection(gw.voidCharge('ch_nonexistent', 'v'))).toMatchObject({ status: 404 });
  });

  test('a voided pm_card_lateSuccess charge never succeeds, while one left alone does', async () => {
    const expiresAt = new Date(Date.now() + 1000).toISOString();
    const voidedOrder = orderId();
    const keptOrder = orderId();
    const toVoid = await gw.createCharge(chargeReq(voidedOrder, { paymentMethod: 'pm_card_lateSuccess', expiresAt }));
    const kept = await gw.createCharge(chargeReq(keptOrder, { paymentMethod: 'pm_card_lateSuccess', expiresAt }));
    expect([toVoid.status, kept.status]).toEqual(['pending', 'pending']);
    await gw.voidCharge(toVoid.chargeId, 'v');
    // Both were due at the same moment: once the kept one's success arrives, the voided one's would have.
    await eventually(async () => receiver.of(kept.chargeId, 'charge.succeeded').length > 0);
    expect((await gw.retrieveCharge(kept.chargeId))?.status).toBe('succeeded');
    expect((await gw.retrieveCharge(toVoid.chargeId))?.status).toBe('voided');
    expect(receiver.of(toVoid.chargeId)).toEqual([]);
  });
});

describe('refunds', () => {
  test('partial then full refunds; the same key answers the same refund; no money is refunded twice', async () => {
    const o = orderId();
    const c = await gw.createCharge(chargeReq(o));
    const part = await gw.refundCharge({
      chargeId: c.chargeId,
      amountMinor: 1000,
      idempotencyKey: `${c.chargeId}-part`,
    });
    expect(part).toMatchObject({ chargeId: c.chargeId, amountMinor: 1000, currency: 'USD' });
    expect(part.refundId).toMatch(/^re_/);
    expect(
      await gw.refundCharge({ chargeId: c.chargeId, amountMinor: 1000, idempotencyKey: `${c.chargeId}-part` }),
    ).toEqual(part);
    expect(
      await rejection(
        gw.refundCharge({ chargeId: c.chargeId, amountMinor: 999, idempotencyKey: `${c.chargeId}-part` }),
      ),
    ).toMatchObject({ status: 422, code: 'idempotency_key_mismatch' });
    expect(await gw.retrieveCharge(c.chargeId)).toMatchObject({
      status: 'succeeded',
      amountRefundedMinor: 1000,
      refunds: [expect.objectContaining({ refundId: part.refundId })],
    });
    expect(
      await rejection(
        gw.refundCharge({ chargeId: c.chargeId, amountMinor: 3500, idempotencyKey: `${c.chargeId}-big` }),
      ),
    ).toMatchObject({ status: 409, code: 'amount_exceeds_refundable' });
    const rest = await gw.refundCharge({ chargeId: c.chargeId, idempotencyKey: `${c.chargeId}-rest` });
    expect(rest.amountMinor).toBe(3499);
    expect(await gw.retrieveCharge(c.chargeId)).toMatchObject({ status: 'refunded', amountRefundedMinor: 4499 });
    expect(
      await rejection(gw.refundCharge({ chargeId: c.chargeId, idempotencyKey: `${c.chargeId}-again` })),
    ).toMatchObject({ status: 409, code: 'amount_exceeds_refundable' });
    const evs = await eventually(
      async () => receiver.of(c.chargeId, 'charge.refunded').length === 2 && receiver.of(c.chargeId, 'charge.refunded'),
    );
    expect(evs.map((e) => e.data.refund?.amount).sort()).toEqual([1000, 3499]);
  });

  test('a charge that captured nothing cannot be refunded; an unknown one is 404; the key is required', async () => {
    const declined = await gw.createCharge(chargeReq(orderId(), { paymentMethod: 'pm_card_chargeDeclined' }));
    const pending = await gw.createCharge(chargeReq(orderId(), { paymentMethod: 'pm_card_lateSuccess' }));
    for (const c of [declined, pending]) {
      expect(
        await rejection(gw.refundCharge({ chargeId: c.chargeId, idempotencyKey: `r-${c.chargeId}` })),
      ).toMatchObject({ status: 409, code: 'charge_not_captured' });
    }
    expect(
      await rejection(gw.refundCharge({ chargeId: 'ch_nonexistent', idempotencyKey: randomUUID() })),
    ).toMatchObject({ status: 404, code: 'resource_missing' });
    const noKey = await call(base, 'POST', '/v1/refunds', { body: { charge: declined.chargeId } });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.code).toBe('idempotency_key_required');
  });
});

describe('webhooks', () => {
  test('signed, and retried with backoff until the receiver acknowledges', async () => {
    receiver.failFirst = 2;
    const c = await gw.createCharge(chargeReq(orderId()));
    const [ev] = await eventually(
      async () => receiver.of(c.chargeId, 'charge.succeeded').length > 0 && receiver.of(c.chargeId, 'charge.succeeded'),
    );
    expect(receiver.attempts.get(ev!.id)).toBe(3);
    expect(receiver.of(c.chargeId)).toHaveLength(1);
    expect(receiver.badSignatures).toBe(0);
  });

  test('duplicated on demand: the same event id delivered twice', async () => {
    const c = await gw.createCharge(chargeReq(orderId()), {});
    const dup = await call(base, 'POST', '/v1/charges', {
      headers: { 'idempotency-key': randomUUID(), 'simulator-fault': 'duplicate_webhooks' },
      body: wireCharge(orderId()),
    });
    expect(dup.status).toBe(200);
    const evs = await eventually(async () => receiver.of(dup.body.id).length === 2 && receiver.of(dup.body.id));
    expect(evs[0]!.id).toBe(evs[1]!.id);
    await eventually(async () => receiver.of(c.chargeId).length === 1);
  });

  test('reordered on demand: a refund event arrives before the success it follows', async () => {
    const o = orderId();
    await call(base, 'POST', '/v1/test/faults', {
      body: { rules: [{ fault: 'reorder_webhooks', order_id: o, times: 1, delay_ms: 600 }] },
    });
    const c = await gw.createCharge(chargeReq(o));
    await gw.refundCharge({ chargeId: c.chargeId, idempotencyKey: `r-${c.chargeId}` });
    const evs = await eventually(async () => receiver.of(c.chargeId).length === 2 && receiver.of(c.chargeId));
    expect(evs.map((e) => e.type)).toEqual(['charge.refunded', 'charge.succeeded']);
  });

  test('dropped on demand: stored as lost and never delivered', async () => {
    const before = (await call(base, 'GET', '/v1/test/webhooks')).body.dropped ?? 0;
    const lost = await call(base, 'POST', '/v1/charges', {
      headers: { 'idempotency-key': randomUUID(), 'simulator-fault': 'drop_webhooks' },
      body: wireCharge(orderId()),
    });
    expect(lost.body.status).toBe('succeeded');
    const after = await call(base, 'GET', '/v1/test/webhooks');
    expect(after.body.dropped).toBe(before + 1);
    const next = await gw.createCharge(chargeReq(orderId()));
    await eventually(async () => receiver.of(next.chargeId).length === 1);
    expect(receiver.of(lost.body.id)).toEqual([]);
  });
});

describe('faults', () => {
  const post = (o: string, fault: string, key = o) =>
    call(base, 'POST', '/v1/charges', {
      headers: { 'idempotency-key': key, 'simulator-fault': fault },
      body: wireCharge(o),
    });

  test('error_before_charge: 503 and nothing made; the retry charges', async () => {
    const o = orderId();
    const r = await post(o, 'error_before_charge');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('injected_fault');
    expect(await chargesOfOrder(gw, o)).toEqual([]);
    expect((await gw.createCharge(chargeReq(o))).status).toBe('succeeded');
  });

  test('error_after_charge: 500 but the charge is made; the retry answers it', async () => {
    const o = orderId();
    const r = await post(o, 'error_after_charge');
    expect(r.status).toBe(500);
    const [made] = await chargesOfOrder(gw, o);
    expect(made?.status).toBe('succeeded');
    expect((await gw.createCharge(chargeReq(o))).chargeId).toBe(made!.chargeId);
  });

  test('timeout_after_charge: no answer but the charge is made; the retry answers it', async () => {
    const o = orderId();
    const short = new HttpPaymentGateway(base, 300);
    const r = await rejection(
      fetch(`${base}/v1/charges`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': o,
          'simulator-fault': 'timeout_after_charge',
        },
        body: JSON.stringify(wireCharge(o)),
        signal: AbortSignal.timeout(300),
      }),
    );
    expect((r as Error).name).toBe('TimeoutError');
    const [made] = await chargesOfOrder(short, o);
    expect(made?.status).toBe('succeeded');
    expect((await short.createCharge(chargeReq(o))).chargeId).toBe(made!.chargeId);
  });

  test('slow: the answer comes after delay_ms, the charge is made anyway', async () => {
    const o = orderId();
    const r = await rejection(
      fetch(`${base}/v1/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': o, 'simulator-fault': 'slow; delay_ms=5000' },
        body: JSON.stringify(wireCharge(o)),
        signal: AbortSignal.timeout(300),
      }),
    );
    expect((r as Error).name).toBe('TimeoutError');
    expect((await chargesOfOrder(gw, o))[0]?.status).toBe('succeeded');
    const answered = await post(orderId(), 'slow; delay_ms=50');
    expect(answered.status).toBe(200);
    expect((await post(orderId(), 'slow; bogus=1')).status).toBe(400);
    expect((await post(orderId(), 'meteor_strike')).body.error.code).toBe('invalid_fault');
  });

  test('rules: matched by order and method, expire after `times`, listed and cleared', async () => {
    const o = orderId();
    const set = await call(base, 'POST', '/v1/test/faults', {
      body: {
        rules: [
          { fault: 'error_after_charge', order_id: o, times: 1 },
          { fault: 'error_before_charge', payment_method: 'pm_card_chargeDeclined' },
        ],
      },
    });
    expect(set.status).toBe(200);
    expect(set.body.data).toHaveLength(2);
    expect(
      await rejection(gw.createCharge(chargeReq(orderId(), { paymentMethod: 'pm_card_chargeDeclined' }))),
    ).toBeInstanceOf(GatewayUnavailable);
    expect(await rejection(gw.createCharge(chargeReq(o)))).toBeInstanceOf(GatewayUnavailable);
    expect((await gw.createCharge(chargeReq(o))).status).toBe('succeeded'); // the rule was used up
    expect((await gw.createCharge(chargeReq(orderId()))).status).toBe('succeeded'); // another order: no rule
    expect((await call(base, 'GET', '/v1/test/faults')).body.data).toEqual([
      expect.objectContaining({
        fault: 'error_before_charge',
        payment_method: 'pm_card_chargeDeclined',
        times_left: null,
      }),
    ]);
    await call(base, 'DELETE', '/v1/test/faults');
    expect((await call(base, 'GET', '/v1/test/faults')).body.data).toEqual([]);
    expect((await gw.createCharge(chargeReq(orderId(), { paymentMethod: 'pm_card_chargeDeclined' }))).status).toBe(
      'declined',
    );
    const bad = await call(base, 'POST', '/v1/test/faults', { body: { rules: [{ fault: 'fire' }] } });
    expect(bad.status).toBe(400);
  });

  test('a refund rule fails the refund before it is made; the retry refunds once', async () => {
    const o = orderId();
    const c = await gw.createCharge(chargeReq(o));
    await call(base, 'POST', '/v1/test/faults', {
      body: { rules: [{ fault: 'error_before_charge', operation: 'refund', order_id: o, times: 1 }] },
    });
    expect(
      await rejection(gw.refundCharge({ chargeId: c.chargeId, idempotencyKey: `r-${c.chargeId}` })),
    ).toBeInstanceOf(GatewayUnavailable);
    expect((await gw.retrieveCharge(c.chargeId))?.amountRefundedMinor).toBe(0);
    await gw.refundCharge({ chargeId: c.chargeId, idempotencyKey: `r-${c.chargeId}` });
    expect((await gw.retrieveCharge(c.chargeId))?.status).toBe('refunded');
  });
});

describe('durability', () => {
  test('a close and reopen on the same file keeps charges, refunds, idempotency, the late-success schedule and undelivered webhooks', async () => {
    const file = join(dir, 'restart.sqlite');
    const later = new Receiver();
    await later.start();
    const deadUrl = later.url;
    await later.stop(); // nobody listens there yet: every delivery fails and stays in the outbox
    let first = await startSim(file, deadUrl);
    const g1 = new HttpPaymentGateway(first.base, 2000);
    const o = orderId();
    const paid = await g1.createCharge(chargeReq(o));
    const refund = await g1.refundCharge({
      chargeId: paid.chargeId,
      amountMinor: 499,
      idempotencyKey: `r-${paid.chargeId}`,
    });
    expect((await call(first.base, 'GET', '/v1/test/webhooks')).body.pending).toBe(2);
    const lateOrder = orderId();
    const late = await g1.createCharge(
      chargeReq(lateOrder, {
        paymentMethod: 'pm_card_lateSuccess',
        expiresAt: new Date(Date.now() + 300).toISOString(),
      }),
    );
    await first.sim.close();

    // The receiver comes up on the same port; the simulator restarts on the same file.
    const port = Number(new URL(deadUrl).port);
    const back = new Receiver();
    await back.start(port);
    first = await startSim(file, back.url);
    try {
      const g2 = new HttpPaymentGateway(first.base, 2000);
      expect(await g2.retrieveCharge(paid.chargeId)).toMatchObject({
        status: 'succeeded',
        amountRefundedMinor: 499,
        refunds: [expect.objectContaining({ refundId: refund.refundId })],
      });
      expect((await g2.createCharge(chargeReq(o))).chargeId).toBe(paid.chargeId);
      expect(await rejection(g2.createCharge(chargeReq(o, { amountMinor: 1 })))).toMatchObject({
        code: 'idempotency_key_mismatch',
      });
      expect(
        await g2.refundCharge({ chargeId: paid.chargeId, amountMinor: 499, idempotencyKey: `r-${paid.chargeId}` }),
      ).toEqual(refund);
      await eventually(async () => back.of(paid.chargeId).length === 2);
      expect(
        back
          .of(paid.chargeId)
          .map((e) => e.type)
          .sort(),
      ).toEqual(['charge.refunded', 'charge.succeeded']);
      await eventually(async () => back.of(late.chargeId, 'charge.succeeded').length === 1);
      expect((await g2.retrieveCharge(lateOrder))?.status).toBe('succeeded');
    } finally {
      await first.sim.close();
      await back.stop();
    }
  });
});

describe('the simulator process (dist/workers/gateway-simulator.js)', () => {
  const SIM = join(__dirname, '../../dist/workers/gateway-simulator.js');

  async function freePort(): Promise<number> {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  function startProcess(port: number, dbPath: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, [SIM], {
      env: {
        ...process.env,
        PAYMENT_GATEWAY_PORT: String(port),
        PAYMENT_GATEWAY_DB: dbPath,
        PAYMENT_WEBHOOK_URL: receiver.url,
        PAYMENT_WEBHOOK_SECRET: SECRET,
        GATEWAY_LATENCY: '5ms',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      const onData = (d: Buffer) => d.toString().includes('payment gateway simulator listening') && resolve(child);
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    });
  }

  const kill = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  test('SIGKILL and a restart lose no charge and no refund: GET /v1/charges/{order_id} still answers', async () => {
    const port = await freePort();
    const dbPath = join(dir, 'process.sqlite');
    let child = await startProcess(port, dbPath);
    const g = new HttpPaymentGateway(`http://127.0.0.1:${port}`, 2000);
    const paidOrder = orderId();
    const refundedOrder = orderId();
    try {
      const paid = await g.createCharge(chargeReq(paidOrder));
      const toRefund = await g.createCharge(chargeReq(refundedOrder));
      await g.refundCharge({ chargeId: toRefund.chargeId, idempotencyKey: `r-${toRefund.chargeId}` });
      await kill(child);
      child = await startProcess(port, dbPath);
      expect(await g.retrieveCharge(paidOrder)).toMatchObject({
        chargeId: paid.chargeId,
        status: 'succeeded',
        amountMinor: 4499,
      });
      const raw = await call(`http://127.0.0.1:${port}`, 'GET', `/v1/charges/${refundedOrder}`);
      expect(raw.body).toMatchObject({
        id: toRefund.chargeId,
        status: 'refunded',
        amount: 4499,
        amount_refunded: 4499,
        refunds: [expect.objectContaining({ amount: 4499 })],
      });
    } finally {
      await kill(child);
    }
  });
});
