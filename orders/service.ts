/**
 * Placing, reading and moving orders for the API. Placing starts the order saga with update-with-start: the
 * workflow and its reservation are one call, so no order is ever reserved without a saga to finish it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import {
  Client,
  isGrpcCancelledError,
  isGrpcDeadlineError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApiError, conflict, notFound } from '../api/errors';
import type { Config } from '../lib/config';
import { cancelUpdate, deliverUpdate, reservationUpdate, shipUpdate } from '../workflows/messages';
import type { orderWorkflow } from '../workflows/order';
import type { OrderInput, OrderLine, OrderOutcome, OrderView, PaymentMethod, Shortage } from '../workflows/types';
import { normalizeLines } from './inventory';
import { loadOrder } from './repository';
import { markSoldOut, soldOutItems } from './soldout-gate';

export interface PlaceOrderRequest {
  userId: string;
  lines: OrderLine[];
  paymentMethod: PaymentMethod;
  idempotencyKey?: string;
}
export type PlaceOrderResult = { kind: 'created'; order: OrderView; replayed: boolean } | { kind: 'out_of_stock'; orderId: string | null; shortages: Shortage[] };

export class OrderService {
  constructor(
    private readonly mysql: Knex,
    private readonly redis: Redis,
    private readonly temporal: Client,
    private readonly cfg: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'ORDER_PAYMENT_TIMEOUT' | 'LATE_PAYMENT_POLICY' | 'ORDER_LATE_PAYMENT_WINDOW' | 'ORDER_RESERVE_DEADLINE'>,
  ) {}

  async place(req: PlaceOrderRequest): Promise<PlaceOrderResult> {
    const lines = normalizeLines(req.lines);
    await this.assertItemsExist(lines);
    const gated: string[] = await soldOutItems(this.redis, lines.map((l) => l.item_id)).catch(() => []); // the gate is an optimisation only
    if (gated.length > 0) {
      const shortages = lines.filter((l) => gated.includes(l.item_id)).map((l) => ({ item_id: l.item_id, requested: l.quantity, available: 0 }));
      return { kind: 'out_of_stock', orderId: null, shortages };
    }
    const claim = req.idempotencyKey ? await this.claimIdempotencyKey(req, lines) : { orderId: `o-${randomUUID()}`, replay: false };
    const { orderId } = claim;
    const input: OrderInput = {
      orderId,
      userId: req.userId,
      lines,
      paymentMethod: req.paymentMethod,
      paymentTimeoutMs: this.cfg.ORDER_PAYMENT_TIMEOUT,
      latePaymentPolicy: this.cfg.LATE_PAYMENT_POLICY,
      latePaymentWindowMs: this.cfg.ORDER_LATE_PAYMENT_WINDOW,
    };
    const start = new WithStartWorkflowOperation<typeof orderWorkflow>('orderWorkflow', {
      workflowId: orderId,
      taskQueue: this.cfg.TEMPORAL_TASK_QUEUE,
      args: [input],
      // A racing duplicate (same idempotency key) joins the running saga and gets the same answer; a finished
      // saga is never started again under the same order id.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: { user_id: req.userId },
    });
    try {
      const reservation = await this.temporal.withDeadline(Date.now() + this.cfg.ORDER_RESERVE_DEADLINE, () =>
        this.temporal.workflow.executeUpdateWithStart(reservationUpdate, { startWorkflowOperation: start, updateId: 'reservation' }),
      );
      if (!reservation.ok) {
        await markSoldOut(this.redis, reservation.shortages).catch(() => undefined);
        return { kind: 'out_of_stock', orderId, shortages: reservation.shortages };
      }
      // A repeated key joined the same saga: answer with the order as it is now.
      if (claim.replay) return { kind: 'created', order: (await loadOrder(this.mysql, orderId)) ?? reservation.order, replayed: true };
      return { kind: 'created', order: reservation.order, replayed: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return this.replayFinished(orderId);
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ApiError(503, 'reservation_unavailable', 'the stock could not be reserved right now; nothing was charged, try again');
      }
      if (isGrpcDeadlineError(err) || isGrpcCancelledError(err)) {
        throw new ApiError(503, 'order_pending', 'the order is taking longer than usual; check its status', { order_id: orderId });
      }
      throw err;
    }
  }

  /** The same idempotency key again, after its saga finished: the order as it is now, or the same refusal. */
  private async replayFinished(orderId: string): Promise<PlaceOrderResult> {
    const order = await loadOrder(this.mysql, orderId);
    if (order) return { kind: 'created', order, replayed: true };
    const outcome: OrderOutcome = await this.temporal.workflow.getHandle(orderId).result();
    if (outcome.result === 'rejected' && outcome.shortages) return { kind: 'out_of_stock', orderId, shortages: outcome.shortages };
    throw new ApiError(503, 'reservation_unavailable', 'the earlier attempt with this idempotency key failed; use a new key');
  }

  /** Maps (user, key) to one order id; the same key with another body is refused (422). `replay` is true
   * when the key was claimed before (by an earlier or a racing request). */
  private async claimIdempotencyKey(req: PlaceOrderRequest, lines: OrderLine[]): Promise<{ orderId: string; replay: boolean }> {
    const requestHash = createHash('sha256').update(JSON.stringify({ lines, paymentMethod: req.paymentMethod })).digest('hex');
    const candidate = `o-${randomUUID()}`;
    await this.mysql('idempotency_keys')
      .insert({ user_id: req.userId, idem_key: req.idempotencyKey, request_hash: requestHash, order_id: candidate })
      .onConflict(['user_id', 'idem_key'])
      .ignore();
    const row = await this.mysql('idempotency_keys').where({ user_id: req.userId, idem_key: req.idempotencyKey }).first();
    if (row.request_hash !== requestHash) {
      throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
    }
    return { orderId: row.order_id, replay: row.order_id !== candidate };
  }

  private async assertItemsExist(lines: OrderLine[]): Promise<void> {
    const ids = lines.map((l) => l.item_id);
    const found = new Set((await this.mysql('items').select('item_id').whereIn('item_id', ids)).map((r: { item_id: string }) => r.item_id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) throw new ApiError(404, 'item_not_found', `unknown item(s): ${missing.join(', ')}`, { item_ids: missing });
  }

  async get(orderId: string): Promise<OrderView> {
    const order = await loadOrder(this.mysql, orderId);
    if (!order) throw notFound(`order ${orderId}`);
    return order;
  }

  /** The customer's cancel: the saga compensates (releases stock, refunds) and answers with the order. */
  async cancel(orderId: string): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => (await h.executeUpdate(cancelUpdate)) ?? (await this.get(orderId)));
  }

  async ship(orderId: string): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => {
      await h.executeUpdate(shipUpdate);
      return this.get(orderId);
    });
  }

  async deliver(orderId: string): Promise<OrderView> {
    return this.sendUpdate(orderId, async (h) => {
      await h.executeUpdate(deliverUpdate);
      return this.get(orderId);
    });
  }

  /** Runs an update on the order's saga: a refused transition (the saga's validator) or a finished saga is 409. */
  private async sendUpdate(orderId: string, fn: (h: ReturnType<Client['workflow']['getHandle']>) => Promise<OrderView>): Promise<OrderView> {
    const order = await this.get(orderId); // 404 first
    try {
      return await fn(this.temporal.workflow.getHandle(orderId));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw conflict('invalid_transition', err.cause?.message ?? `the order is ${order.status}`, { status: order.status });
      if (err instanceof WorkflowNotFoundError || (err as Error).message?.includes('workflow execution already completed')) {
        throw conflict('invalid_transition', `the order is ${order.status}`, { status: order.status });
      }
      throw err;
    }
  }
}
