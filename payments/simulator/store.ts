/**
 * The simulator's ledger in one SQLite file (better-sqlite3, synchronous): charges, refunds, the late-success
 * schedule (a due time on the charge) and the webhook outbox. Every state change and the webhooks it causes are
 * written in one transaction, so a SIGKILL between them cannot happen; a restart on the same file resumes the
 * schedule and the deliveries. The calls are synchronous, so one request's read-check-write runs whole before
 * the next request's: the idempotency checks need no lock.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChargeStatus, WireCharge, WireRefund } from '../wire';

export type { WireCharge, WireRefund } from '../wire';

interface ChargeRow {
  seq: number;
  id: string;
  order_id: string;
  idempotency_key: string;
  request_hash: string;
  amount: number;
  currency: string;
  payment_method: string;
  status: ChargeStatus;
  decline_code: string | null;
  amount_refunded: number;
  succeed_at: number | null;
  webhook_faults: string | null;
  created: string;
}

interface RefundRow {
  seq: number;
  id: string;
  charge_id: string;
  idempotency_key: string;
  request_hash: string;
  amount: number;
  currency: string;
  created: string;
}

export interface WebhookRow {
  seq: number;
  event_id: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
}

/** A charge as stored, with what the server needs beyond the wire object. */
export interface StoredCharge {
  wire: WireCharge;
  requestHash: string;
  /** Webhook faults asked for when the charge was created (`Simulator-Fault` header), applied to its events. */
  webhookFaults: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS charges (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  order_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  request_hash TEXT NOT NULL,
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL,
  payment_method TEXT NOT NULL,
  status TEXT NOT NULL,
  decline_code TEXT,
  amount_refunded INTEGER NOT NULL DEFAULT 0,
  succeed_at INTEGER,
  webhook_faults TEXT,
  created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS charges_by_order ON charges (order_id, seq);
CREATE INDEX IF NOT EXISTS charges_due ON charges (succeed_at) WHERE succeed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS refunds (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  charge_id TEXT NOT NULL REFERENCES charges (id),
  idempotency_key TEXT NOT NULL UNIQUE,
  request_hash TEXT NOT NULL,
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL,
  created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_by_charge ON refunds (charge_id, seq);
-- One row per delivery to make (a duplicated event has two rows with the same event id).
CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  charge_id TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  -- delivered: acknowledged (2xx); dropped: lost on purpose (drop_webhooks); failed: given up
  state TEXT NOT NULL DEFAULT 'pending',
  last_error TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
`;

export interface NewCharge {
  id: string;
  orderId: string;
  idempotencyKey: string;
  requestHash: string;
  amount: number;
  currency: string;
  paymentMethod: string;
  status: ChargeStatus;
  declineCode?: string;
  succeedAt?: number;
  webhookFaults?: string;
  created: string;
}

export interface NewWebhook {
  eventId: string;
  type: string;
  chargeId: string;
  body: string;
  nextAttemptAt: number;
  state: 'pending' | 'dropped';
}

export interface ListFilter {
  orderId?: string;
  idempotencyKey?: string;
  createdGte?: string;
  afterSeq?: number;
  limit: number;
}

export class SimulatorStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a committed charge survives even the machine's crash, not only the process's.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction (BEGIN IMMEDIATE). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  chargeById(id: string): StoredCharge | undefined {
    return this.toStored(this.db.prepare<[string], ChargeRow>('SELECT * FROM charges WHERE id = ?').get(id));
  }

  chargeByKey(key: string): StoredCharge | undefined {
    return this.toStored(
      this.db.prepare<[string], ChargeRow>('SELECT * FROM charges WHERE idempotency_key = ?').get(key),
    );
  }

  latestChargeOfOrder(orderId: string): StoredCharge | undefined {
    return this.toStored(
      this.db
        .prepare<[string], ChargeRow>('SELECT * FROM charges WHERE order_id = ? ORDER BY seq DESC LIMIT 1')
        .get(orderId),
    );
  }

  seqOfCharge(id: string): number | undefined {
    return this.db.prepare<[string], { seq: number }>('SELECT seq FROM charges WHERE id = ?').get(id)?.seq;
  }

  /** Charges oldest first; one more than `limit` tells the caller there is more. */
  listCharges(f: ListFilter): { data: WireCharge[]; hasMore: boolean } {
    const where: string[] = ['seq > @afterSeq'];
    if (f.orderId !== undefined) where.push('order_id = @orderId');
    if (f.idempotencyKey !== undefined) where.push('idempotency_key = @idempotencyKey');
    if (f.createdGte !== undefined) where.push('created >= @createdGte');
    const rows = this.db
      .prepare<Record<string, unknown>, ChargeRow>(
        `SELECT * FROM charges WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @lim`,
      )
      .all({
        orderId: f.orderId,
        idempotencyKey: f.idempotencyKey,
        createdGte: f.createdGte,
        afterSeq: f.afterSeq ?? 0,
        lim: f.limit + 1,
      });
    return { data: rows.slice(0, f.limit).map((r) => this.toWire(r)), hasMore: rows.length > f.limit };
  }

  insertCharge(c: NewCharge): WireCharge {
    this.db
      .prepare(
        `INSERT INTO charges (id, order_id, idempotency_key, request_hash, amount, currency, payment_method, status, decline_code, succeed_at, webhook_faults, created)
         VALUES (@id, @orderId, @idempotencyKey, @requestHash, @amount, @currency, @paymentMethod, @status, @declineCode, @succeedAt, @webhookFaults, @created)`,
      )
      .run({
        ...c,
        declineCode: c.declineCode ?? null,
        succeedAt: c.succeedAt ?? null,
        webhookFaults: c.webhookFaults ?? null,
      });
    return this.chargeById(c.id)!.wire;
  }

  /** Moves a charge to `status`; clears its late-success schedule. */
  setChargeStatus(id: string, status: ChargeStatus): WireCharge {
    this.db.prepare('UPDATE charges SET status = ?, succeed_at = NULL WHERE id = ?').run(status, id);
    return this.chargeById(id)!.wire;
  }

  /** Pending charges whose late success is due. */
  dueLateSuccesses(now: number): string[] {
    return this.db
      .prepare<[number], { id: string }>(
        "SELECT id FROM charges WHERE succeed_at IS NOT NULL AND succeed_at <= ? AND status = 'pending' ORDER BY succeed_at LIMIT 100",
      )
      .all(now)
      .map((r) => r.id);
  }

  refundByKey(key: string): { wire: WireRefund; requestHash: string } | undefined {
    const r = this.db.prepare<[string], RefundRow>('SELECT * FROM refunds WHERE idempotency_key = ?').get(key);
    return r && { wire: toWireRefund(r), requestHash: r.request_hash };
  }

  insertRefund(r: {
    id: string;
    chargeId: string;
    idempotencyKey: string;
    requestHash: string;
    amount: number;
    currency: string;
    created: string;
  }): WireRefund {
    this.db
      .prepare(
        'INSERT INTO refunds (id, charge_id, idempotency_key, request_hash, amount, currency, created) VALUES (@id, @chargeId, @idempotencyKey, @requestHash, @amount, @currency, @created)',
      )
      .run(r);
    this.db
      .prepare(
        "UPDATE charges SET amount_refunded = amount_refunded + @amount, status = CASE WHEN amount_refunded + @amount >= amount THEN 'refunded' ELSE status END WHERE id = @chargeId",
      )
      .run({ amount: r.amount, chargeId: r.chargeId });
    return toWireRefund(this.db.prepare<[string], RefundRow>('SELECT * FROM refunds WHERE id = ?').get(r.id)!);
  }

  enqueueWebhook(w: NewWebhook): void {
    this.db
      .prepare(
        'INSERT INTO webhook_outbox (event_id, type, charge_id, body, next_attempt_at, state, created_at) VALUES (@eventId, @type, @chargeId, @body, @nextAttemptAt, @state, @now)',
      )
      .run({ ...w, now: Date.now() });
  }

  dueWebhooks(now: number, limit: number, skip: Set<number>): WebhookRow[] {
    return this.db
      .prepare<[number, number], WebhookRow>(
        "SELECT seq, event_id, body, attempts, next_attempt_at, created_at FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, seq LIMIT ?",
      )
      .all(now, limit + skip.size)
      .filter((w) => !skip.has(w.seq))
      .slice(0, limit);
  }

  /** The soonest moment something is due (a webhook attempt or a late success), or undefined. */
  nextDueAt(): number | undefined {
    const w = this.db
      .prepare<[], { t: number | null }>("SELECT MIN(next_attempt_at) AS t FROM webhook_outbox WHERE state = 'pending'")
      .get()?.t;
    const c = this.db
      .prepare<[], { t: number | null }>(
        "SELECT MIN(succeed_at) AS t FROM charges WHERE succeed_at IS NOT NULL AND status = 'pending'",
      )
      .get()?.t;
    const ts = [w, c].filter((t): t is number => typeof t === 'number');
    return ts.length ? Math.min(...ts) : undefined;
  }

  markWebhookDelivered(seq: number): void {
    this.db
      .prepare(
        "UPDATE webhook_outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL WHERE seq = ?",
      )
      .run(seq);
  }

  markWebhookFailedAttempt(seq: number, error: string, nextAttemptAt: number | null): void {
    this.db
      .prepare(
        "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at), state = CASE WHEN ? IS NULL THEN 'failed' ELSE state END WHERE seq = ?",
      )
      .run(error.slice(0, 500), nextAttemptAt, nextAttemptAt, seq);
  }

  webhookCounts(): Record<string, number> {
    const rows = this.db
      .prepare<[], { state: string; n: number }>('SELECT state, COUNT(*) AS n FROM webhook_outbox GROUP BY state')
      .all();
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  private toStored(r: ChargeRow | undefined): StoredCharge | undefined {
    return r && { wire: this.toWire(r), requestHash: r.request_hash, webhookFaults: r.webhook_faults };
  }

  private toWire(r: ChargeRow): WireCharge {
    const refunds = this.db
      .prepare<[string], RefundRow>('SELECT * FROM refunds WHERE charge_id = ? ORDER BY seq')
      .all(r.id);
    return {
      id: r.id,
      object: 'charge',
      order_id: r.order_id,
      idempotency_key: r.idempotency_key,
      amount: r.amount,
      currency: r.currency,
      payment_method: r.payment_method,
      status: r.status,
      ...(r.decline_code ? { decline_code: r.decline_code } : {}),
      amount_refunded: r.amount_refunded,
      refunds: refunds.map((x) => ({
        id: x.id,
        charge: x.charge_id,
        amount: x.amount,
        currency: x.currency,
        created: x.created,
      })),
      created: r.created,
    };
  }
}

const toWireRefund = (r: RefundRow): WireRefund => ({
  id: r.id,
  object: 'refund',
  charge: r.charge_id,
  amount: r.amount,
  currency: r.currency,
  status: 'succeeded',
  created: r.created,
});
