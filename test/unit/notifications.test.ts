/** Notifications without servers: which events notify whom, the sender's retry rules (fake repository and
 * channels), and the webhook channel against a local HTTP receiver. */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  customerDraft,
  parseOrderEvent,
  sellerCancelDrafts,
  sellerDrafts,
  notifies,
  OrderEvent,
} from '../../notifications/model';
import { NotificationSender, backoffMs } from '../../notifications/sender';
import { PermanentDeliveryError, WebhookChannel, NotificationChannel } from '../../notifications/channels';
import type { NotificationRepository, Outgoing } from '../../notifications/repository';
import { verifySignature, SIGNATURE_HEADER } from '../../payments/webhook-signature';
import { logger } from '../../lib/logger';
import { decodeCursor, encodeCursor } from '../../notifications/repository';

const event = (type: string, data: Record<string, unknown> = {}): OrderEvent =>
  parseOrderEvent(
    Buffer.from(
      JSON.stringify({
        event_id: 'e-1',
        type,
        occurred_at: new Date().toISOString(),
        data: {
          order_id: 'o-1',
          user_id: 'u-buyer',
          status: 'x',
          items: [
            { item_id: 'a', quantity: 2, price: 5 },
            { item_id: 'b', quantity: 1, price: 3 },
            { item_id: 'c', quantity: 1, price: 1 },
          ],
          total_price: 14,
          ...data,
        },
      }),
    ),
  )!;

describe('which events notify whom', () => {
  test('the customer on placed, canceled, refunded, in_transit, delivered; nobody on created or archived', () => {
    const types = ['order.placed', 'order.canceled', 'order.refunded', 'order.in_transit', 'order.delivered'];
    for (const t of types) {
      const d = customerDraft(event(t))!;
      expect(d).toMatchObject({
        user_id: 'u-buyer',
        audience: 'customer',
        type: t.replace('.', '_'),
        order_id: 'o-1',
        source_event_id: 'e-1',
      });
      expect(d.message).toContain('o-1');
    }
    for (const t of ['order.created', 'order.archived']) {
      expect(notifies(event(t))).toBe(false);
      expect(customerDraft(event(t))).toBeUndefined();
    }
    expect(
      parseOrderEvent(
        Buffer.from(
          JSON.stringify({
            event_id: 'e',
            type: 'stock.changed',
            occurred_at: new Date().toISOString(),
            data: { item_id: 'a' },
          }),
        ),
      ),
    ).toBeUndefined();
    expect(customerDraft(event('order.placed'))!.message).toContain('4 units (total 14.00)');
    expect(customerDraft(event('order.canceled', { reason: 'payment_declined' }))!.message).toContain('declined');
    expect(customerDraft(event('order.canceled', { cancel_reason: 'payment_timeout' }))!.message).toContain('in time');
  });

  test('each package of a per-seller shipment is named by its carrier and tracking number', () => {
    const shipment = { supplier_id: 's-1', carrier: 'UPS', tracking_number: '1Z999' };
    const shipments = [
      { supplier_id: 's-1', status: 'delivered' },
      { supplier_id: 's-2', status: 'in_transit' },
    ];
    expect(customerDraft(event('order.in_transit', { shipment, shipments }))!.message).toBe(
      'A package of your order o-1 has shipped (UPS, tracking 1Z999).',
    );
    const partly = customerDraft(event('order.shipment_delivered', { shipment, shipments }))!;
    expect(partly).toMatchObject({ type: 'shipment_delivered', user_id: 'u-buyer' });
    expect(partly.message).toBe(
      'A package of your order o-1 was delivered (UPS, tracking 1Z999); 1 package is still on its way.',
    );
    expect(customerDraft(event('order.delivered', { shipment, shipments }))!.message).toBe(
      'Your order o-1 was delivered (UPS, tracking 1Z999).',
    );
  });

  test('one notification per seller of a placed order, with their lines only; items without a supplier are skipped', () => {
    const suppliers = new Map([
      ['a', 's-1'],
      ['b', 's-2'],
      ['c', 's-1'],
    ]);
    const drafts = sellerDrafts(event('order.placed'), suppliers);
    expect(drafts.map((d) => d.user_id).sort()).toEqual(['s-1', 's-2']);
    const s1 = drafts.find((d) => d.user_id === 's-1')!;
    expect(s1).toMatchObject({ audience: 'seller', type: 'new_order', source_event_id: 'e-1' });
    expect(s1.message).toContain('2 units of a, 1 unit of c');
    expect(drafts.find((d) => d.user_id === 's-2')!.message).not.toContain(' of a');
    expect(sellerDrafts(event('order.placed'), new Map())).toEqual([]);
    expect(sellerDrafts(event('order.delivered'), suppliers)).toEqual([]);
  });

  test("the seller's notification says where to ship, before the lines (so a long order never cuts the address)", () => {
    const address = {
      name: 'Ada Lovelace',
      line1: '12 Rue de Rivoli',
      line2: 'Bât. B',
      city: 'Paris',
      postal_code: '75004',
      country: 'FR',
      phone: '+33 1 23 45 67 89',
    };
    const [d] = sellerDrafts(event('order.placed', { shipping_address: address }), new Map([['a', 's-1']]));
    expect(d!.message).toBe(
      'New order o-1 to ship to Ada Lovelace, 12 Rue de Rivoli, Bât. B, 75004 Paris, FR (+33 1 23 45 67 89): 2 units of a.',
    );
    const many = Array.from({ length: 300 }, (_, i) => ({
      item_id: `item-with-a-long-id-${i}`,
      quantity: 1,
      price: 1,
    }));
    const [long] = sellerDrafts(
      event('order.placed', { shipping_address: address, items: many }),
      new Map(many.map((l) => [l.item_id, 's-1'])),
    );
    expect(long!.message).toContain('to ship to Ada Lovelace, 12 Rue de Rivoli');
    expect(long!.message.length).toBeLessThanOrEqual(1000);
    // Orders from before addresses existed: no address, the old text.
    expect(sellerDrafts(event('order.placed', { shipping_address: null }), new Map([['a', 's-1']]))[0]!.message).toBe(
      'New order o-1 to ship: 2 units of a.',
    );
  });

  test('a canceled order tells each seller who was told to ship it, once; other events and untold sellers nothing', () => {
    const drafts = sellerCancelDrafts(event('order.canceled'), ['s-1', 's-2', 's-1']);
    expect(drafts.map((d) => [d.user_id, d.audience, d.type, d.source_event_id])).toEqual([
      ['s-1', 'seller', 'order_to_ship_canceled', 'e-1'],
      ['s-2', 'seller', 'order_to_ship_canceled', 'e-1'],
    ]);
    expect(drafts[0]!.message).toContain('do not ship');
    expect(sellerCancelDrafts(event('order.canceled'), [])).toEqual([]);
    expect(sellerCancelDrafts(event('order.delivered'), ['s-1'])).toEqual([]);
  });

  test('malformed messages are not order events', () => {
    for (const v of [
      '',
      'not json',
      '[]',
      '{"type":"order.placed"}',
      JSON.stringify({ event_id: 1, type: 'order.placed', data: {} }),
      JSON.stringify({ event_id: 'e', type: 'order.placed', data: { order_id: { $gt: '' }, user_id: 'u' } }),
    ]) {
      expect(parseOrderEvent(Buffer.from(v))).toBeUndefined();
    }
    expect(parseOrderEvent(null)).toBeUndefined();
  });

  test('cursors round-trip and refuse anything else', () => {
    expect(decodeCursor(encodeCursor(12345))).toBe(12345);
    expect(decodeCursor('bm9wZQ')).toBeUndefined();
    expect(decodeCursor(Buffer.from('n:1 OR 1=1').toString('base64url'))).toBeUndefined();
  });
});

describe('the sender', () => {
  const outgoing = (id: string, attempts: number): Outgoing => ({
    notification_id: id,
    user_id: 'u',
    audience: 'direct',
    type: 't',
    message: 'm',
    order_id: null,
    delivery_status: 'pending',
    channel: null,
    attempts,
    created_at: '',
    sent_at: null,
    read_at: null,
    email: 'u@example.com',
    name: 'U',
  });
  function fakeRepo(batches: Outgoing[][]) {
    const calls: { sent: string[]; failed: { id: string; final: boolean; retryIn: number }[] } = {
      sent: [],
      failed: [],
    };
    const repo = {
      claimDue: async () => batches.shift() ?? [],
      markSent: async (id: string) => void calls.sent.push(id),
      markAttemptFailed: async (id: string, _c: string, _e: string, final: boolean, retryIn: number) =>
        void calls.failed.push({ id, final, retryIn }),
    } as unknown as NotificationRepository;
    return { repo, calls };
  }
  const opts = { pollMs: 10, batch: 10, leaseMs: 1000, maxAttempts: 3, retryBaseMs: 100 };

  test('sent on success; a failure is retried with doubling backoff, then failed at the last attempt; a permanent one fails at once', async () => {
    const { repo, calls } = fakeRepo([
      [outgoing('ok', 1), outgoing('flaky', 1), outgoing('last', 3), outgoing('perm', 1)],
    ]);
    const channel: NotificationChannel = {
      name: 'fake',
      async send(n) {
        if (n.notification_id === 'perm') throw new PermanentDeliveryError('no address');
        if (n.notification_id !== 'ok') throw new Error('smtp down');
      },
    };
    const sender = new NotificationSender(repo, channel, logger, opts);
    expect(await sender.round()).toBe(4);
    expect(calls.sent).toEqual(['ok']);
    expect(calls.failed).toEqual(
      expect.arrayContaining([
        { id: 'flaky', final: false, retryIn: 100 },
        { id: 'last', final: true, retryIn: 400 },
        { id: 'perm', final: true, retryIn: 100 },
      ]),
    );
    expect(backoffMs(30, 1000)).toBe(600_000);
  });

  test('the loop sends what is due and stops cleanly', async () => {
    const { repo, calls } = fakeRepo([[outgoing('a', 1)], [], [outgoing('b', 1)]]);
    const sender = new NotificationSender(repo, { name: 'fake', send: async () => undefined }, logger, opts);
    sender.start();
    const deadline = Date.now() + 5000;
    while (calls.sent.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await sender.stop();
    expect(calls.sent).toEqual(['a', 'b']);
  });
});

describe('the webhook channel', () => {
  let server: Server;
  let url: string;
  const received: { body: string; signature: string | undefined }[] = [];
  let status = 200;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body, signature: req.headers[SIGNATURE_HEADER] as string | undefined });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const n: Outgoing = {
    notification_id: 'n-1',
    user_id: 'u',
    audience: 'customer',
    type: 'order_placed',
    message: 'hi',
    order_id: 'o',
    delivery_status: 'pending',
    channel: null,
    attempts: 1,
    created_at: '2026-01-01T00:00:00.000Z',
    sent_at: null,
    read_at: null,
    email: 'secret@example.com',
    name: 'U',
  };

  test('posts the notification as signed JSON, without the address; 5xx is retryable, 4xx permanent', async () => {
    const ch = new WebhookChannel(url, 'a-webhook-secret-of-16+', 2000);
    await ch.send(n);
    const got = received.at(-1)!;
    expect(JSON.parse(got.body)).toEqual({
      type: 'notification',
      notification: expect.objectContaining({ notification_id: 'n-1', message: 'hi', user_id: 'u' }),
    });
    expect(got.body).not.toContain('secret@example.com');
    expect(verifySignature('a-webhook-secret-of-16+', got.body, got.signature)).toBe(true);
    status = 503;
    await expect(ch.send(n)).rejects.not.toBeInstanceOf(PermanentDeliveryError);
    status = 410;
    await expect(ch.send(n)).rejects.toBeInstanceOf(PermanentDeliveryError);
    await expect(new WebhookChannel('http://127.0.0.1:1/x', 'a-webhook-secret-of-16+', 500).send(n)).rejects.toThrow(
      /unreachable/,
    );
  });
});
