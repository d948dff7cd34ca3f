/**
 * The invariants of issue 11, checked after a fault through the API (the buyers' orders), the gateway
 * simulator (their charges), MySQL (the stock left) and Kafka (their events):
 *   money  every succeeded charge belongs to a placed (or later) order, or is refunded or voided; no order is
 *          placed without a succeeded charge;
 *   stock  initial stock = stock left + units of placed orders + units of live (`created`) reservations;
 *   events every status an order went through (its history) reached Kafka as its event;
 *   API    no 500, every 503 with Retry-After, no dropped connection unless the API process was killed.
 * Orders move on for a while after a fault (timers fire, webhooks arrive), so `settle` re-checks until every
 * order reached an end state and the invariants hold, or a deadline passes; what still fails then is reported.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { chargesOfOrder, ChargeStatus, GatewayRejected, HttpPaymentGateway } from '../../payments/gateway';
import { TOPICS } from '../../stores/kafka/topics';
import type { OrderView } from '../../orders/model';
import type { ChaosTarget } from './target';
import { Buyer, getJson, OrderAttempt, stockLeft } from './stream';

const ORDERS_TOPIC = TOPICS.orders.name;
const PLACED = new Set(['placed', 'in_transit', 'delivered']);

/** Kafka's shopflow.orders from the offsets it had when a fault started: which (order, event type) arrived. */
export class EventLog {
  readonly seen = new Set<string>();
  private consumer: Consumer | undefined;

  private constructor(
    private readonly kafka: Kafka,
    private readonly start: { partition: number; offset: string }[],
  ) {}

  /** Notes the topic's end offsets now (call before the fault). */
  static async mark(kafka: Kafka): Promise<EventLog> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(ORDERS_TOPIC);
      return new EventLog(
        kafka,
        offsets.map((o) => ({ partition: o.partition, offset: o.high })),
      );
    } finally {
      await admin.disconnect();
    }
  }

  /** Starts reading (with a consumer group of its own) from the marked offsets. */
  async open(): Promise<void> {
    if (this.consumer) return;
    const consumer = this.kafka.consumer({ groupId: `chaos-check-${randomUUID()}`, retry: { retries: 20 } });
    await consumer.connect();
    await consumer.subscribe({ topic: ORDERS_TOPIC, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        try {
          const event = JSON.parse(message.value?.toString() ?? '{}') as {
            type?: string;
            data?: { order_id?: string };
          };
          const orderId = message.key?.toString() ?? event.data?.order_id;
          if (orderId && event.type) this.seen.add(`${orderId} ${event.type}`);
        } catch {
          /* not one of ours */
        }
      },
    });
    for (const p of this.start) consumer.seek({ topic: ORDERS_TOPIC, partition: p.partition, offset: p.offset });
    this.consumer = consumer;
  }

  has(orderId: string, type: string): boolean {
    return this.seen.has(`${orderId} ${type}`);
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }
}

/**
 * The gateway's charges of an order. A simulator that lists charges (`GET /v1/charges?order_id=`) answers
 * through the port's `listCharges`; an older one only answers `GET /v1/charges/{order_id}` with the order's
 * latest charge (the compat path).
 */
export class ChargeLedger {
  private listing: boolean | undefined;
  private readonly gateway: HttpPaymentGateway;

  constructor(private readonly gatewayUrl: string) {
    this.gateway = new HttpPaymentGateway(gatewayUrl, 10_000);
  }

  async statuses(orderId: string): Promise<ChargeStatus[]> {
    if (this.listing === undefined) {
      try {
        await this.gateway.listCharges({ limit: 1 });
        this.listing = true;
      } catch (err) {
        if (!(err instanceof GatewayRejected)) throw err;
        this.listing = false;
      }
    }
    if (this.listing) return (await chargesOfOrder(this.gateway, orderId)).map((c) => c.status);
    const res = await fetch(`${this.gatewayUrl}/v1/charges/${encodeURIComponent(orderId)}`, {
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`gateway answered ${res.status} to GET /v1/charges/${orderId}`);
    return [((await res.json()) as { status: ChargeStatus }).status];
  }
}

/** What one fault's stream asked for and got: the input of the checks. */
export interface Subject {
  itemId: string;
  initialStock: number;
  buyers: Buyer[];
  attempts: OrderAttempt[];
  events: EventLog;
  ledger: ChargeLedger;
  /** Dropped connections are expected (the API process was killed). */
  apiKilled: boolean;
}

export interface ApiCounts {
  accepted: number;
  s503: number;
  s503WithoutRetryAfter: number;
  s500: number;
  other5xx: number;
  /** Other answers (409 out of stock, 429, 4xx), by status. */
  other: Record<string, number>;
  dropped: number;
  timedOut: number;
}

export interface Findings {
  orders: number;
  placed: number;
  canceled: number;
  /** Still `created` (awaiting payment or stuck). */
  live: string[];
  chargedButCanceled: string[];
  /** Succeeded charge on an order that is neither placed nor canceled (e.g. still `created`). */
  chargedNotPlaced: string[];
  placedWithoutCharge: string[];
  /** Canceled orders whose charge is still pending (no money moved; in flight or never answered). */
  pendingOnCanceled: string[];
  /** Accepted with 201 but absent from the buyer's order list. */
  lostOrders: string[];
  stockLeft: number;
  stockDrift: number;
  /** The stock changed while the orders were read (drift not conclusive). */
  stockMoving: boolean;
  missingEvents: string[];
  api: ApiCounts;
}

export function countAnswers(attempts: OrderAttempt[]): ApiCounts {
  const c: ApiCounts = {
    accepted: 0,
    s503: 0,
    s503WithoutRetryAfter: 0,
    s500: 0,
    other5xx: 0,
    other: {},
    dropped: 0,
    timedOut: 0,
  };
  for (const a of attempts) {
    if (a.dropped) c.dropped++;
    else if (a.timedOut) c.timedOut++;
    else if (a.status === 201) c.accepted++;
    else if (a.status === 503) {
      c.s503++;
      if (!a.retryAfter) c.s503WithoutRetryAfter++;
    } else if (a.status === 500) c.s500++;
    else if (a.status && a.status > 500) c.other5xx++;
    else c.other[String(a.status)] = (c.other[String(a.status)] ?? 0) + 1;
  }
  return c;
}

/** Every order of the fault's buyers (live and archived), through the API. */
async function buyersOrders(apiUrl: string, buyers: Buyer[]): Promise<OrderView[]> {
  const out: OrderView[] = [];
  for (const b of buyers) {
    let cursor: string | null = null;
    do {
      const r = await getJson(
        apiUrl,
        `/users/${b.userId}/orders?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        b.token,
      );
      if (r.status !== 200)
        throw new Error(`GET /users/${b.userId}/orders answered ${r.status}: ${JSON.stringify(r.body)}`);
      out.push(...r.body.orders);
      cursor = r.body.next_cursor;
    } while (cursor);
  }
  return out;
}

/** The events an order's history implies: one per status it went through, plus refund and archive. */
async function expectedEvents(target: ChaosTarget, order: OrderView): Promise<string[]> {
  const live = await target.archive.loadLive(order.order_id);
  const full = live ?? (await target.archive.find(order.order_id));
  if (!full) return ['order.created'];
  const types = new Set<string>();
  for (const h of full.history)
    if (['created', 'placed', 'canceled', 'in_transit', 'delivered'].includes(h.status)) types.add(`order.${h.status}`);
  types.add('order.created');
  if (full.payment_status === 'refunded' || full.late_payment === 'refunded') types.add('order.refunded');
  if (!live) types.add('order.archived');
  return [...types];
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** One look at every invariant. Throws when a store or the API cannot answer yet (the caller retries). */
export async function checkOnce(target: ChaosTarget, s: Subject): Promise<Findings> {
  await s.events.open();
  const stockBefore = await stockLeft(target.mysql, s.itemId);
  const orders = (await buyersOrders(target.apiUrl, s.buyers)).filter((o) =>
    o.items.some((l) => l.item_id === s.itemId),
  );
  const known = new Set(orders.map((o) => o.order_id));
  const charges = await mapLimit(orders, 16, (o) => s.ledger.statuses(o.order_id));
  const f: Findings = {
    orders: orders.length,
    placed: 0,
    canceled: 0,
    live: [],
    chargedButCanceled: [],
    chargedNotPlaced: [],
    placedWithoutCharge: [],
    pendingOnCanceled: [],
    lostOrders: s.attempts.filter((a) => a.status === 201 && a.orderId && !known.has(a.orderId)).map((a) => a.orderId!),
    stockLeft: await stockLeft(target.mysql, s.itemId),
    stockDrift: 0,
    stockMoving: false,
    missingEvents: [],
    api: countAnswers(s.attempts),
  };
  let heldUnits = 0;
  orders.forEach((o, i) => {
    const st = charges[i]!;
    const units = o.items.filter((l) => l.item_id === s.itemId).reduce((n, l) => n + l.quantity, 0);
    if (PLACED.has(o.status)) {
      f.placed++;
      heldUnits += units;
      if (!st.includes('succeeded')) f.placedWithoutCharge.push(o.order_id);
    } else if (o.status === 'canceled') {
      f.canceled++;
      if (st.includes('succeeded')) f.chargedButCanceled.push(o.order_id);
      if (st.includes('pending')) f.pendingOnCanceled.push(o.order_id);
    } else {
      f.live.push(o.order_id);
      heldUnits += units;
      if (st.includes('succeeded')) f.chargedNotPlaced.push(o.order_id);
    }
  });
  f.stockDrift = s.initialStock - f.stockLeft - heldUnits;
  // The stock and the orders are read one after the other: while orders still move, a drift may be an
  // artefact of the two reads, so it only counts when the stock did not change across the order reads.
  f.stockMoving = f.stockLeft !== stockBefore;
  const expected = await mapLimit(orders, 16, async (o) => ({
    id: o.order_id,
    types: await expectedEvents(target, o),
  }));
  for (const e of expected) for (const t of e.types) if (!s.events.has(e.id, t)) f.missingEvents.push(`${e.id} ${t}`);
  return f;
}

/** The invariants that fail in these findings, one line each (empty: all hold). */
export function violations(f: Findings, apiKilled: boolean): string[] {
  const out: string[] = [];
  const ex = (ids: string[]) => (ids.length ? ` (e.g. ${ids.slice(0, 3).join(', ')})` : '');
  if (f.chargedButCanceled.length)
    out.push(
      `money: ${f.chargedButCanceled.length} canceled orders keep a succeeded charge${ex(f.chargedButCanceled)}`,
    );
  if (f.chargedNotPlaced.length)
    out.push(`money: ${f.chargedNotPlaced.length} orders not placed keep a succeeded charge${ex(f.chargedNotPlaced)}`);
  if (f.placedWithoutCharge.length)
    out.push(
      `money: ${f.placedWithoutCharge.length} orders placed without a succeeded charge${ex(f.placedWithoutCharge)}`,
    );
  if (f.stockDrift !== 0 && !f.stockMoving)
    out.push(`stock: drift of ${f.stockDrift} units (initial - left - placed - reserved)`);
  if (f.live.length)
    out.push(`stock: ${f.live.length} orders never reached an end state, their units still held${ex(f.live)}`);
  if (f.lostOrders.length)
    out.push(`orders: ${f.lostOrders.length} accepted (201) orders the API no longer knows${ex(f.lostOrders)}`);
  if (f.missingEvents.length)
    out.push(`events: ${f.missingEvents.length} transitions never reached Kafka${ex(f.missingEvents)}`);
  if (f.api.s500) out.push(`api: ${f.api.s500} answers 500`);
  if (f.api.other5xx) out.push(`api: ${f.api.other5xx} answers 5xx other than 503`);
  if (f.api.s503WithoutRetryAfter) out.push(`api: ${f.api.s503WithoutRetryAfter} answers 503 without Retry-After`);
  if (f.api.dropped && !apiKilled) out.push(`api: ${f.api.dropped} dropped connections`);
  if (f.api.timedOut) out.push(`api: ${f.api.timedOut} requests unanswered for too long (queued instead of shed)`);
  return out;
}

/** True when nothing is still moving: no order awaiting its end, no pending charge that may still succeed. */
function quiet(f: Findings, pendingUntil: number): boolean {
  return f.live.length === 0 && (f.pendingOnCanceled.length === 0 || Date.now() > pendingUntil);
}

/** How long settle() waits: `deadline` is when every order should have ended on a machine that keeps up; past it,
 * the wait goes on while orders still end (one more ended within `stallMs`), up to `deadline + graceMs`. */
export interface SettleBounds {
  deadline: number;
  stallMs: number;
  graceMs: number;
}

/**
 * Re-checks until every order has ended and the invariants hold, or the bounds run out; returns the last findings
 * and when they held (null: never). `pendingUntil`: until then a pending charge of a canceled order may still
 * turn into a late success.
 *
 * Why go on past the deadline: on a saturated box (a 2-core machine running every server) the sagas of a
 * 300-order burst can still be working through Temporal's queue at the deadline, ending one after another.
 * That is a backlog, not a leak. An order counts as stuck when the orders stop ending (nothing ended for
 * `stallMs`) or the grace runs out; the round reports how long settling took, so a slow-down stays visible.
 */
export async function settle(
  target: ChaosTarget,
  s: Subject,
  bounds: SettleBounds,
  pendingUntil: number,
  log: (m: string) => void,
): Promise<{ findings: Findings; settledAt: number | null }> {
  let last: Findings | undefined;
  let lastError: unknown;
  let fewestLive = Infinity;
  let lastProgressAt = Date.now();
  for (;;) {
    try {
      last = await checkOnce(target, s);
      if (quiet(last, pendingUntil) && violations(last, s.apiKilled).length === 0)
        return { findings: last, settledAt: Date.now() };
      if (last.live.length < fewestLive) {
        fewestLive = last.live.length;
        lastProgressAt = Date.now();
      }
    } catch (err) {
      lastError = err;
    }
    const now = Date.now();
    const moving = fewestLive > 0 && now - lastProgressAt < bounds.stallMs;
    if (now > bounds.deadline && (!moving || now > bounds.deadline + bounds.graceMs)) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
  if (!last) throw new Error(`the checks never got an answer: ${String(lastError)}`);
  if (lastError) log(`last check error: ${String(lastError)}`);
  return { findings: last, settledAt: null };
}
