/**
 * The order stream of a chaos run: fresh buyers (registered and logged in through the API), a fresh item
 * with ample stock, and POST /orders at a steady rate with every payment method and quantities 1-3. Every
 * answer is recorded (status, Retry-After, a dropped connection, a client timeout) for the API checks.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { PAYMENT_METHODS, PaymentMethod } from '../../orders/model';

export interface Buyer {
  userId: string;
  token: string;
}

const CHAOS_ADDRESS = {
  name: 'Chaos Buyer',
  line1: '1 Loopback Road',
  city: 'Localhost',
  postal_code: '12700',
  country: 'US',
};

/** One POST /orders and what came back. */
export interface OrderAttempt extends Answer {
  sentAt: number;
  method: PaymentMethod;
  quantity: number;
  buyer: Buyer;
  answeredAt?: number;
  orderId?: string;
  retryAfter?: string | null;
}

export interface StreamOptions {
  ratePerSecond: number;
  itemId: string;
  buyers: Buyer[];
  /** A request unanswered after this long is abandoned and counted as timed out. */
  requestTimeoutMs: number;
}

/** A fresh account through the API: POST /auth/register, then POST /auth/login for its token. */
export async function registerBuyer(apiUrl: string): Promise<Buyer> {
  const email = `chaos-${randomUUID()}@chaos.shopflow.dev`;
  const password = 'chaos suite password';
  const reg = await postJson(apiUrl, '/auth/register', { name: 'Chaos buyer', email, password });
  if (reg.status !== 201) throw new Error(`POST /auth/register answered ${reg.status}: ${JSON.stringify(reg.body)}`);
  const login = await postJson(apiUrl, '/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`POST /auth/login answered ${login.status}: ${JSON.stringify(login.body)}`);
  return { userId: login.body.user_id, token: login.body.token };
}

export async function registerBuyers(apiUrl: string, n: number): Promise<Buyer[]> {
  const out: Buyer[] = [];
  for (let i = 0; i < n; i++) out.push(await registerBuyer(apiUrl)); // one at a time: each is an argon2 hash
  return out;
}

/** A fresh item with `stock` units, written straight to MySQL (the stock authority), as the test fixtures do. */
export async function createStockedItem(mysql: Knex, stock: number): Promise<string> {
  const itemId = `it-chaos-${randomUUID().slice(0, 13)}`;
  await mysql('items').insert({
    item_id: itemId,
    supplier_id: null,
    name: `Chaos item ${itemId}`,
    category: 'Chaos',
    price: 7.5,
    stock,
  });
  return itemId;
}

export async function stockLeft(mysql: Knex, itemId: string): Promise<number> {
  const row = await mysql('items').select('stock').where({ item_id: itemId }).first();
  if (!row) throw new Error(`item ${itemId} vanished`);
  return Number(row.stock);
}

/** What a request got: the HTTP status, or why there was none. */
export interface Answer {
  status?: number;
  /** For a 5xx: the error's code and the store it names, e.g. `overloaded/mysql`. */
  why?: string;
  /** The connection failed or was reset (fetch threw): no HTTP answer at all. */
  dropped?: string;
  timedOut?: boolean;
}

/** Records why a request got no answer: the client's timeout, or the connection's error code. */
export function recordFailure(a: Answer, err: unknown): void {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError') a.timedOut = true;
  else a.dropped = e.cause?.code ?? e.message;
}

/** For a 5xx answer in the contract's error format: `code/store` (the store from details.store, when named). */
export function whyFailed(status: number, body: any): string | undefined {
  if (status < 500 || typeof body?.error?.code !== 'string') return undefined;
  const store = body.error.details?.store;
  return typeof store === 'string' ? `${body.error.code}/${store}` : body.error.code;
}

/** Answers counted by group, in the groups' order, e.g.
 * "before: 38x201 2x503(overloaded/mysql); during: 23xdropped". */
export function tally<T extends Answer>(answers: T[], groupOf: (a: T) => string, groups: string[]): string {
  const counts = new Map<string, Map<string, number>>(groups.map((g) => [g, new Map()]));
  for (const a of answers) {
    const k = a.dropped ? 'dropped' : a.timedOut ? 'timeout' : a.why ? `${a.status}(${a.why})` : String(a.status);
    const c = counts.get(groupOf(a))!;
    c.set(k, (c.get(k) ?? 0) + 1);
  }
  return [...counts]
    .filter(([, c]) => c.size > 0)
    .map(
      ([g, c]) =>
        `${g}: ${byStatus([...c])
          .map(([k, n]) => `${n}x${k}`)
          .join(' ')}`,
    )
    .join('; ');
}

/** Statuses ascending, then `dropped` and `timeout` as first seen. */
function byStatus(counts: [string, number][]): [string, number][] {
  const rank = (k: string) => (/^\d+/.test(k) ? Number(k.slice(0, 3)) : Infinity);
  return counts.sort(([a], [b]) => rank(a) - rank(b) || 0);
}

/** Sends one request per tick at a steady rate, and knows which requests are still in flight. */
export abstract class SteadyFlow {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly ratePerSecond: number) {}

  /** Sends the next request (its answer is recorded by the subclass). */
  protected abstract sendOne(): Promise<unknown>;

  start(): void {
    this.timer = setInterval(() => void this.sendOne(), 1000 / this.ratePerSecond);
  }

  /** Stops the steady flow (requests in flight go on). */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops sending; resolves once every request in flight has its answer (or timed out). */
  async stop(): Promise<void> {
    this.pause();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Keeps `p` among the requests in flight until it settles. */
  protected track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }
}

export class OrderStream extends SteadyFlow {
  readonly attempts: OrderAttempt[] = [];
  private seq = 0;

  constructor(
    private readonly apiUrl: string,
    private readonly opts: StreamOptions,
  ) {
    super(opts.ratePerSecond);
  }

  /** Sends one order now (also used to probe for recovery after the stream ended). */
  sendOne(): Promise<OrderAttempt> {
    const n = this.seq++;
    const a: OrderAttempt = {
      sentAt: Date.now(),
      method: PAYMENT_METHODS[n % PAYMENT_METHODS.length]!,
      quantity: 1 + (Math.floor(n / PAYMENT_METHODS.length) % 3),
      buyer: this.opts.buyers[n % this.opts.buyers.length]!,
    };
    this.attempts.push(a);
    return this.track(this.send(a)).then(() => a);
  }

  /** The first 201 answer to a request sent at or after `t`. */
  firstAcceptedSince(t: number): OrderAttempt | undefined {
    return this.attempts
      .filter((a) => a.sentAt >= t && a.status === 201)
      .sort((x, y) => x.answeredAt! - y.answeredAt!)[0];
  }

  accepted(): OrderAttempt[] {
    return this.attempts.filter((a) => a.status === 201 && a.orderId);
  }

  private async send(a: OrderAttempt): Promise<void> {
    try {
      const res = await fetch(this.apiUrl + '/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${a.buyer.token}` },
        body: JSON.stringify({
          user_id: a.buyer.userId,
          items: [{ item_id: this.opts.itemId, quantity: a.quantity }],
          payment_method: a.method,
          shipping_address: CHAOS_ADDRESS,
        }),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs),
      });
      const text = await res.text();
      a.status = res.status;
      a.retryAfter = res.headers.get('retry-after');
      const body = parseBody(text);
      if (res.status === 201) a.orderId = body?.order_id;
      else a.why = whyFailed(res.status, body);
    } catch (err) {
      recordFailure(a, err);
    } finally {
      a.answeredAt = Date.now();
    }
  }
}

export async function getJson(apiUrl: string, path: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(apiUrl + path, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: parseBody(await res.text()) };
}

async function postJson(apiUrl: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(apiUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: parseBody(await res.text()) };
}

/** A response body as JSON, or undefined when it is empty or not JSON. */
export function parseBody(text: string): any {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
