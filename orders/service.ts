/**
 * Placing, reading and moving orders for the API. Placing reserves the stock in MySQL and starts the order's
 * saga; the sweeper guarantees the saga for any reserved order whose start did not happen.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { conflict, DomainError, notFound } from '../lib/errors';
import type { Config } from '../lib/config';
import {
  cancelUpdate,
  deliverUpdate,
  detailsQuery,
  extendPaymentWindowUpdate,
  forceCancelUpdate,
  markManualRefundUpdate,
  retryPaymentUpdate,
  shipUpdate,
} from './saga-messages';
import type {
  DeliverArgs,
  OrderDetails,
  OrderInput,
  OrderLine,
  OrderView,
  PaymentMethod,
  ReservationResult,
  ShipArgs,
  Shortage,
} from './model';
import { logBestEffortFailure } from '../stores/errors';
import { InvalidOrder, reserveOrder } from './reservation';
import { startSaga } from './saga';
import { startReservedSaga, unstartedOrders } from './saga-sweeper';
import { logger } from '../lib/logger';
import { normalizeLines, visibleShortages } from '../stock/levels';
import { SharedStockReads } from '../stock/shared-reads';
import { loadOrder } from './repository';
import type { OrderArchive, StatusChange } from './archive';
import { orderPaymentFacts, type OrderPaymentFacts } from './payment-facts';
import { listUserOrders, OrdersPage, OrdersPageQuery } from './orders-view';
import { knownShortages, markSoldOut } from '../stock/soldout-gate';
import { ItemViewCache } from '../catalog/item-views';
import { admit, giveBack } from '../stock/tickets';
import type { ShippingAddress } from '../users/addresses';
import { PurchaseLimits, PurchaseLimitSettings } from './purchase-limits';
import { expireUserKeys } from './idempotency-keys';

export interface PlaceOrderRequest {
  userId: string;
  lines: OrderLine[];
  paymentMethod: PaymentMethod;
  idempotencyKey?: string;
  shippingAddress?: ShippingAddress;
  /** An admin placing the order: no per-customer purchase limits (orders/purchase-limits.ts). */
  exemptFromLimits?: boolean;
  /** The API asked the sold-out gate for these lines a moment ago and it knew of no shortage: not asked again. */
  soldOutGatePassed?: boolean;
}
/** An order's status history: every change, with why and who (null or `saga`: the saga's own step). */
export interface OrderStatusHistory {
  order_id: string;
  status: OrderView['status'];
  payment_status: OrderView['payment_status'];
  /** Read from the archive (the order is finished), not from MySQL. */
  archived: boolean;
  history: (StatusChange & { actor: string | null })[];
}

export type PlaceOrderResult =
  | { kind: 'created'; order: OrderView; replayed: boolean }
  | { kind: 'out_of_stock'; orderId: string | null; shortages: Shortage[] };

/** An order reserved in MySQL (its stock taken, its row committed) whose saga is yet to start. `replay`: its
 * Idempotency-Key was claimed by an earlier request, whose reservation had not been made. */
interface Reserved {
  kind: 'reserved';
  input: OrderInput;
  order: OrderView;
  replay: boolean;
}

export class OrderService {
  constructor(
    private readonly mysql: Knex,
    private readonly redis: Redis,
    private readonly temporal: Client,
    private readonly archive: OrderArchive,
    private readonly cfg: Pick<
      Config,
      | 'TEMPORAL_TASK_QUEUE'
      | 'ORDER_PAYMENT_TIMEOUT'
      | 'LATE_PAYMENT_POLICY'
      | 'ORDER_LATE_PAYMENT_WINDOW'
      | 'ORDER_RESERVE_DEADLINE'
      | 'IDEMPOTENCY_KEY_TTL'
    > &
      PurchaseLimitSettings &
      Partial<Pick<Config, 'ITEM_VIEW_TTL'>>,
  ) {
    this.limits = new PurchaseLimits(mysql, redis, cfg);
    this.views = new ItemViewCache(redis, cfg.ITEM_VIEW_TTL ?? 0);
    this.stockReads = new SharedStockReads(mysql);
  }
  private readonly limits: PurchaseLimits;
  private readonly stockReads: SharedStockReads;
  /** Cached item views (GET /items/{id}) that a reservation makes stale. */
  private readonly views: ItemViewCache;

  /** Places an order within the buyer's purchase limits (checked, under the buyer's lock, before anything is
   * reserved; a replay of an Idempotency-Key that already made an order is never refused by them). */
  async place(req: PlaceOrderRequest): Promise<PlaceOrderResult> {
    // What Redis knows first (one read): the flash sale's losers are refused before the buyer's lock and any
    // MySQL read. It only ever says no early (stock/soldout-gate.ts). A request whose Idempotency-Key already
    // made an order is never refused by it: the buyer who got the last unit and retries gets the order.
    const lines = normalizeLines(req.lines);
    const known = req.soldOutGatePassed ? [] : await knownShortages(this.redis, lines);
    if (known.length > 0 && !(await this.isReplay(req)))
      return { kind: 'out_of_stock', orderId: null, shortages: known };
    const admission = await this.admitEarly(req, lines);
    if (admission.kind === 'refused') return admission.result;
    // A ticket is kept only by a fresh reservation; a limit refusal, a replay, a failed reservation or an error
    // gives it back.
    let reserved = false;
    try {
      // Under the buyer's lock: the limits, the key's claim and the reservation; its commit is what the buyer's
      // next placement counts, so the saga starts after the lock is released.
      const outcome = req.exemptFromLimits
        ? await this.reserve(req, lines)
        : await this.limits.enforce(
            req.userId,
            lines,
            () => this.isReplay(req),
            () => this.reserve(req, lines),
          );
      if (outcome.kind !== 'reserved') return outcome;
      reserved = !outcome.replay;
      return await this.startAndAnswer(outcome, lines);
    } finally {
      if (admission.ticketsTaken && !reserved) await giveBack(this.redis, lines);
    }
  }

  /**
   * Before the buyer's lock and the purchase-limit queries: one shared lock-free stock read (unknown and delisted
   * items are refused here), then a ticket per unit (stock/tickets.ts). In a flash sale only about as many
   * buyers as there are units go on to the per-buyer checks and the item rows; the rest are answered from this
   * read and Redis. A request whose Idempotency-Key already made an order goes on without a ticket to its replay.
   */
  private async admitEarly(
    req: PlaceOrderRequest,
    lines: OrderLine[],
  ): Promise<{ kind: 'admitted'; ticketsTaken: boolean } | { kind: 'refused'; result: PlaceOrderResult }> {
    const { stock, unlisted } = await this.stockReads.read(lines);
    const missing = lines.map((l) => l.item_id).filter((id) => !stock.has(id));
    if (missing.length > 0)
      throw new DomainError('not_found', 'item_not_found', `unknown item(s): ${missing.join(', ')}`, {
        item_ids: missing,
      });
    if (unlisted.length > 0)
      throw new DomainError('conflict', 'item_unlisted', `no longer sold: ${unlisted.join(', ')}`, {
        item_ids: unlisted,
      });
    let shortages = visibleShortages(lines, stock);
    if (shortages.length > 0) await markSoldOut(this.redis, shortages).catch(() => undefined);
    else {
      const tickets = await admit(this.redis, lines, stock);
      if (tickets.admitted) return { kind: 'admitted', ticketsTaken: tickets.ticketsTaken };
      shortages = tickets.shortages;
    }
    if (await this.isReplay(req)) return { kind: 'admitted', ticketsTaken: false };
    return { kind: 'refused', result: { kind: 'out_of_stock', orderId: null, shortages } };
  }

  /** The lines Redis already knows cannot be covered (the sold-out gate, spent admission tickets), no MySQL read:
   * the API asks it too before it sheds load, so a sold-out item is answered 409 even then. */
  knownShortages(lines: OrderLine[]): Promise<Shortage[]> {
    return knownShortages(this.redis, normalizeLines(lines));
  }

  /** Whether the request's Idempotency-Key already made an order (one indexed read; false without a key). */
  private async isReplay(req: PlaceOrderRequest): Promise<boolean> {
    if (req.idempotencyKey === undefined) return false;
    const row = await this.mysql('idempotency_keys')
      .where({ user_id: req.userId, idem_key: req.idempotencyKey })
      .where('created_at', '>=', new Date(Date.now() - this.cfg.IDEMPOTENCY_KEY_TTL))
      .first();
    return row !== undefined;
  }

  /** Claims the Idempotency-Key (a replay answers the order it made), then reserves in MySQL, the authority: a
   * refused buyer never costs a saga (the flash-sale hot path). Runs after admitEarly(), under the buyer's lock. */
  private async reserve(req: PlaceOrderRequest, lines: OrderLine[]): Promise<PlaceOrderResult | Reserved> {
    const claim = req.idempotencyKey
      ? await this.claimIdempotencyKey(req, lines)
      : { orderId: `o-${randomUUID()}`, replay: false };
    if (claim.replay) {
      // The key's order may be finished and archived: answer it, never reserve its stock a second time.
      const existing = await this.find(claim.orderId);
      if (existing) return { kind: 'created', order: existing, replayed: true };
    }
    const input: OrderInput = {
      orderId: claim.orderId,
      userId: req.userId,
      lines,
      paymentMethod: req.paymentMethod,
      paymentTimeoutMs: this.cfg.ORDER_PAYMENT_TIMEOUT,
      latePaymentPolicy: this.cfg.LATE_PAYMENT_POLICY,
      latePaymentWindowMs: this.cfg.ORDER_LATE_PAYMENT_WINDOW,
      expiresAt: new Date(Date.now() + this.cfg.ORDER_PAYMENT_TIMEOUT).toISOString(),
    };
    let reservation: ReservationResult;
    try {
      reservation = await reserveOrder(
        this.mysql,
        { ...input, expiresAt: input.expiresAt!, shippingAddress: req.shippingAddress },
        { fresh: !claim.replay },
      );
    } catch (err) {
      if (err instanceof InvalidOrder) throw new DomainError('not_found', 'not_found', err.message);
      throw err;
    }
    if (!reservation.ok) {
      await markSoldOut(this.redis, reservation.shortages).catch(() => undefined);
      return { kind: 'out_of_stock', orderId: claim.orderId, shortages: reservation.shortages };
    }
    return { kind: 'reserved', input, order: reservation.order, replay: claim.replay };
  }

  /** Starts a reserved order's saga, and meanwhile drops the cached item views (the stock shown drops with the
   * reservation; it never throws). If Temporal cannot be reached now, the order stays reserved and the sweeper
   * (orders/saga-sweeper.ts) starts the saga once it can: a reserved order never goes without one. */
  private async startAndAnswer(r: Reserved, lines: OrderLine[]): Promise<PlaceOrderResult> {
    await Promise.all([
      this.views.drop(lines.map((l) => l.item_id)),
      startSaga(this.temporal, this.cfg.TEMPORAL_TASK_QUEUE, r.input, this.cfg.ORDER_RESERVE_DEADLINE).catch((err) =>
        logBestEffortFailure(err, 'saga not started yet; the sweeper will start it', { orderId: r.input.orderId }),
      ),
    ]);
    if (r.replay)
      return {
        kind: 'created',
        order: (await loadOrder(this.mysql, r.input.orderId)) ?? r.order,
        replayed: true,
      };
    return { kind: 'created', order: r.order, replayed: false };
  }

  /** Maps (user, key) to one order id; the same key with another body is refused (422). `replay` is true
   * when the key was claimed before (by an earlier or a racing request). */
  private async claimIdempotencyKey(
    req: PlaceOrderRequest,
    lines: OrderLine[],
  ): Promise<{ orderId: string; replay: boolean }> {
    const requestHash = createHash('sha256')
      .update(
        JSON.stringify({
          lines,
          paymentMethod: req.paymentMethod,
          ...(req.shippingAddress ? { address: req.shippingAddress } : {}),
        }),
      )
      .digest('hex');
    const candidate = `o-${randomUUID()}`;
    await expireUserKeys(this.mysql, req.userId, this.cfg.IDEMPOTENCY_KEY_TTL);
    await this.mysql('idempotency_keys')
      .insert({ user_id: req.userId, idem_key: req.idempotencyKey, request_hash: requestHash, order_id: candidate })
      .onConflict(['user_id', 'idem_key'])
      .ignore();
    const row = await this.mysql('idempotency_keys')
      .where({ user_id: req.userId, idem_key: req.idempotencyKey })
      .first();
    if (row.request_hash !== requestHash) {
      throw new DomainError(
        'invalid',
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request body',
      );
    }
    return { orderId: row.order_id, replay: row.order_id !== candidate };
  }

  /** An order wherever it lives: MySQL while live, Cassandra once archived (MySQL first, see orders/archive.ts). */
  async find(orderId: string): Promise<OrderView | null> {
    const live = await loadOrder(this.mysql, orderId);
    if (live) return live;
    const archived = await this.archive.find(orderId);
    if (!archived) return null;
    const { history: _history, charge_id: _charge, ...view } = archived;
    return view;
  }

  /** What happened to an order, when and who did it, wherever it lives: read from MySQL while it is live, from
   * the archive once finished (MySQL first, as find()). For operators: the saga's `details` end with the saga, and
   * Temporal forgets a closed workflow after its retention; the archive keeps this for good. */
  async statusHistory(orderId: string): Promise<OrderStatusHistory> {
    const live = await this.archive.loadLive(orderId);
    const order = live ?? (await this.archive.find(orderId));
    if (!order) throw notFound(`order ${orderId}`);
    return {
      order_id: order.order_id,
      status: order.status,
      payment_status: order.payment_status,
      archived: live === null,
      history: order.history.map((h) => ({ ...h, actor: h.actor ?? null })),
    };
  }

  /** The order's payment facts, wherever it lives (orders/payment-facts.ts). */
  paymentFacts(orderId: string): Promise<OrderPaymentFacts | null> {
    return orderPaymentFacts(this.mysql, this.archive, orderId);
  }

  async get(orderId: string): Promise<OrderView> {
    const order = await this.find(orderId);
    if (!order) throw notFound(`order ${orderId}`);
    return order;
  }

  /** A user's orders, live and archived, newest first. */
  async listForUser(userId: string, query: OrdersPageQuery): Promise<OrdersPage> {
    return listUserOrders(this.mysql, this.archive, userId, query);
  }

  /** The customer's cancel: the saga compensates (releases stock, refunds) and answers with the order. */
  async cancel(orderId: string, by: string): Promise<OrderView> {
    return this.sendUpdate(
      orderId,
      async (h) => (await h.executeUpdate(cancelUpdate, { args: [{ by }] })) ?? (await this.get(orderId)),
    );
  }

  /** One seller's lines leave (the saga records the shipment; the first moves the order in transit). */
  async ship(orderId: string, args: ShipArgs): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => {
      await h.executeUpdate(shipUpdate, { args: [args] });
      return this.get(orderId);
    });
  }

  /** One seller's shipment arrived (the last one delivers the order). */
  async deliver(orderId: string, args: DeliverArgs): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => {
      await h.executeUpdate(deliverUpdate, { args: [args] });
      return this.get(orderId);
    });
  }

  // ---- operators: the saga's own updates, validated and recorded by it (workflows/order.ts) -------------------

  async forceCancel(orderId: string, by: string, note?: string): Promise<OrderView> {
    return this.sendUpdate(
      orderId,
      async (h) =>
        (await h.executeUpdate(forceCancelUpdate, { args: [{ by, ...(note ? { note } : {}) }] })) ??
        (await this.get(orderId)),
    );
  }

  async extendPaymentWindow(orderId: string, by: string, expiresAt: string, note?: string): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => {
      await h.executeUpdate(extendPaymentWindowUpdate, { args: [{ by, expiresAt, ...(note ? { note } : {}) }] });
      return this.get(orderId);
    });
  }

  async retryPayment(orderId: string, by: string, note?: string): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => {
      await h.executeUpdate(retryPaymentUpdate, { args: [{ by, ...(note ? { note } : {}) }] });
      return this.get(orderId);
    });
  }

  async markManualRefund(orderId: string, by: string, reference: string, note?: string): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => {
      await h.executeUpdate(markManualRefundUpdate, { args: [{ by, reference, ...(note ? { note } : {}) }] });
      return this.get(orderId);
    });
  }

  /** The saga of a reserved order that never got one, started now (the sweeper would, later); or the order
   * canceled in place if its payment window has closed. True when the caller should look again (and send its
   * update to the saga, or learn that the order is canceled). */
  private async startUnstartedSaga(orderId: string): Promise<boolean> {
    const row = await unstartedOrders(this.mysql).where({ order_id: orderId }).first();
    if (!row) return false;
    const { mysql, redis, temporal, cfg } = this;
    const done = await startReservedSaga({ mysql, redis, temporal, cfg }, row, logger.child({ orderId }));
    return done !== 'closed';
  }

  /** What the order's saga says of itself (the `details` query); 409 once the saga has finished. */
  async details(orderId: string): Promise<OrderDetails> {
    const order = await this.get(orderId);
    try {
      return await this.temporal.workflow.getHandle(orderId).query(detailsQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw conflict(
          'saga_not_found',
          `the saga of order ${orderId} is gone; its status history: GET /admin/orders/${orderId}/history`,
          { status: order.status },
        );
      throw err;
    }
  }

  /** Runs an update on the order's saga: a refused transition (the saga's validator) or a finished saga is 409. An
   * order reserved whose saga has not started yet (Temporal was unreachable then) gets it started first. */
  private async sendUpdate(
    orderId: string,
    fn: (h: ReturnType<Client['workflow']['getHandle']>) => Promise<OrderView>,
    startedHere = false,
  ): Promise<OrderView> {
    const order = await this.get(orderId); // 404 first
    try {
      return await fn(this.temporal.workflow.getHandle(orderId));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError)
        throw conflict('invalid_transition', err.cause?.message ?? `the order is ${order.status}`, {
          status: order.status,
        });
      if (err instanceof WorkflowNotFoundError && !startedHere && (await this.startUnstartedSaga(orderId)))
        return this.sendUpdate(orderId, fn, true);
      if (
        err instanceof WorkflowNotFoundError ||
        (err as Error).message?.includes('workflow execution already completed')
      ) {
        throw conflict('invalid_transition', `the order is ${order.status}`, { status: order.status });
      }
      throw err;
    }
  }
}
