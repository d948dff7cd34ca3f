/**
 * The order saga. One workflow per order, its id the order id, so the Temporal Web UI finds an order's saga by
 * its id. Deterministic code only: every side effect is an activity (activities/order-activities.ts).
 *
 *   claim   the order the API reserved in MySQL (a read: the saga never reserves or inserts)
 *   mirror  it in Redis with its payment expiry (best effort: a Redis outage never holds up the money)
 *   pay     charge the gateway, racing its answer (activity or webhook) against the payment timer and a cancel;
 *           no charge is started once the window has closed, and a charge in flight is settled before any
 *           outcome other than "placed" is decided
 *   place   success: placed, with the charge id stored
 *   or compensate: canceled, stock released, every charge of the order voided or refunded by charge id
 *   fulfil  placed -> in_transit -> delivered (updates from the seller), or the customer's cancel (refund)
 *   archive a finished order moves to Cassandra; every payment that turned up meanwhile is settled last
 *
 * Sagas started before this version run `legacyOrderWorkflow` (workflows/order-legacy.ts) unchanged: the
 * `saga-v2` patch marker tells the two apart, so their histories replay.
 * Cancelling the workflow (Web UI, `temporal workflow cancel`) is an operator's force-cancel: it compensates.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/order-activities';
import { cancelUpdate, deliverUpdate, paymentResultSignal, shipUpdate, stateQuery } from './messages';
import { legacyOrderWorkflow } from './order-legacy';
import type { CancelReason, OrderInput, OrderOutcome, OrderState, OrderView, PaymentResult, Settlement } from './types';

/** Marks sagas that run this file's code (see the header). */
export const SAGA_V2_PATCH = 'saga-v2';

// The first step only reads: it retries until MySQL answers (an order the buyer was told exists is never
// given up because of a blip), and stops at once when the order is not live (a Reset of a finished order).
const claiming = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: ['OrderNotLive'] },
});

// Store writes and compensations retry until they succeed: each is idempotent, so a retry after a lost answer
// changes nothing twice.
const store = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['OrderNotFinished'] },
});

// The Redis mirror is a convenience: bounded, and its failure is logged, not awaited forever.
const mirroring = proxyActivities<OrderActivities>({
  startToCloseTimeout: '3s',
  scheduleToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s' },
});

// The charge heartbeats, so a cancel reaches it and aborts its HTTP call; WAIT_CANCELLATION_COMPLETED makes the
// saga wait until the attempt really ended before it decides anything else.
const charging = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10s',
  heartbeatTimeout: '3s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: ['PaymentDeclined', 'GatewayRejected'] },
});

// Voids and refunds: retried while the gateway is unreachable; a refusal is for a person (NeedsAttention).
const settling = proxyActivities<OrderActivities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['GatewayRejected'] },
});

export async function orderWorkflow(input: OrderInput): Promise<OrderOutcome> {
  if (!patched(SAGA_V2_PATCH)) return legacyOrderWorkflow(input);
  return new OrderSaga(input).run();
}

type Requester = 'customer' | 'operator';

class OrderSaga {
  private readonly orderId: string;
  private readonly expiresAt: string;
  private readonly state: OrderState = { phase: 'reserving', payment: 'pending' };
  private order: OrderView | undefined;
  /** The gateway's first word while the order waits for it. */
  private word: PaymentResult | undefined;
  private decided = false;
  /** A success seen after a non-placed decision (the late payment), and whether one arrived since the last
   * settlement: the saga settles again before it ends. */
  private late: PaymentResult | undefined;
  private unsettledSuccess = false;
  private settledOnce = false;
  private cancelRequest: Requester | undefined;
  private canceledView: OrderView | undefined;
  private shipRequested = false;
  /** Between the payment's success and the saga taking the order as placed (markPlaced in flight). */
  private placing = false;
  private deliverRequested = false;
  private charge: Promise<void> | undefined;

  constructor(private readonly input: OrderInput) {
    this.orderId = input.orderId;
    this.expiresAt = input.expiresAt ?? new Date(Date.now() + input.paymentTimeoutMs).toISOString();
    this.registerHandlers();
  }

  async run(): Promise<OrderOutcome> {
    try {
      return await this.steps();
    } catch (err) {
      if (!isCancellation(err)) throw err;
      // The workflow was cancelled (Web UI, CLI): an operator's force-cancel, compensated like any cancel.
      if (!['reserving', 'awaiting_payment', 'placed', 'canceled'].includes(this.state.phase)) throw err;
      log.warn('order saga cancelled by an operator: compensating', { orderId: this.orderId, phase: this.state.phase });
      return await CancellationScope.nonCancellable(() => this.forceCancel());
    }
  }

  private async steps(): Promise<OrderOutcome> {
    const claimed = await this.claim();
    if (!claimed) return { orderId: this.orderId, result: 'rejected' };
    if (claimed === 'placed') return await this.fulfil();
    await this.mirror();
    const outcome = await this.pay();
    return outcome === 'placed' ? await this.fulfil() : outcome;
  }

  // ---- claim -------------------------------------------------------------------------------------------------

  /** The live order, or null when there is none to run for (then nothing was touched). */
  private async claim(): Promise<OrderView | 'placed' | null> {
    try {
      const { order, chargeId } = await claiming.claimOrder({ orderId: this.orderId });
      this.order = order;
      if (order.status === 'placed' && chargeId) {
        // A Reset of a placed order: its payment is done, go on with fulfilment.
        this.setPlaced(chargeId);
        return 'placed';
      }
      this.state.phase = 'awaiting_payment';
      return order;
    } catch (err) {
      if (isCancellation(err) || !isFailureOfType(err, 'OrderNotLive')) throw err;
      log.warn('order saga: the order is not live, nothing to do', { orderId: this.orderId });
      this.state.phase = 'rejected';
      return null;
    }
  }

  private async mirror(): Promise<void> {
    await bestEffort('mirrorOrder', () => mirroring.mirrorOrder(this.order!));
  }

  // ---- pay ---------------------------------------------------------------------------------------------------

  private async pay(): Promise<'placed' | OrderOutcome> {
    const msLeft = Date.parse(this.expiresAt) - Date.now();
    const scope = new CancellationScope();
    if (msLeft > 0 && !this.cancelRequest) {
      this.charge = scope.run(() => this.startCharge());
      await condition(() => this.word !== undefined || this.cancelRequest !== undefined, msLeft);
    }
    this.decided = true;
    if (this.word?.status === 'succeeded') {
      if (await this.place(this.word.chargeId, false)) return 'placed';
      return await this.compensate('payment_timeout', 'expired'); // the order was canceled under us: refund
    }
    // Whatever comes next is not "placed": stop the charge and wait until its attempt has really ended, so no
    // request is left in flight at the gateway when the payments are settled.
    scope.cancel();
    await this.charge;
    if (this.word?.status === 'declined') return await this.compensate('payment_declined', 'declined');
    if (this.cancelRequest) return await this.compensate(this.cancelRequest === 'operator' ? 'canceled_by_operator' : 'canceled_by_customer', 'voided');
    return await this.expire();
  }

  /** The charge, its answer handed to the same place as a webhook's. */
  private startCharge(): Promise<void> {
    const amount = this.order!.total_price;
    return charging.chargePayment({ orderId: this.orderId, amount, paymentMethod: this.input.paymentMethod, expiresAt: this.expiresAt }).then(
      (r) => (r.status === 'pending' ? undefined : this.onPayment({ status: r.status, chargeId: r.chargeId })),
      (err) => {
        if (isFailureOfType(err, 'PaymentDeclined')) {
          const cause = (err as ActivityFailure).cause as ApplicationFailure;
          this.onPayment({ status: 'declined', chargeId: String(cause.details?.[0] ?? '') });
        }
        // Cancelled, timed out or refused: the settlement at the end looks at the gateway itself.
      },
    );
  }

  /** No answer by the deadline: canceled and released at once; a success in the late window is refunded or,
   * with LATE_PAYMENT_POLICY=accept, places the order again if its stock can still be taken. */
  private async expire(): Promise<OrderOutcome> {
    this.state.payment = 'expired';
    await this.cancelAndRelease('payment_timeout', 'expired');
    if (!this.late) await condition(() => this.late !== undefined, this.input.latePaymentWindowMs);
    const late = this.late;
    if (late && this.input.latePaymentPolicy === 'accept' && (await store.acceptLatePayment({ orderId: this.orderId, chargeId: late.chargeId }))) {
      this.state.latePayment = 'accepted';
      this.state.phase = 'placed';
      this.setPlaced(late.chargeId);
      return await this.fulfil();
    }
    if (late) this.state.latePayment = 'refunded';
    return await this.close({ orderId: this.orderId, result: 'canceled', cancelReason: 'payment_timeout', latePayment: this.state.latePayment });
  }

  // ---- place, fulfil -----------------------------------------------------------------------------------------

  /** True once the order is placed; false when it is no longer `created` (then the caller compensates). */
  private async place(chargeId: string, late: boolean): Promise<boolean> {
    this.placing = true; // MySQL may say "placed" before this step returns: a ship then waits for it (see handlers)
    let placed: boolean;
    try {
      placed = await store.markPlaced({ orderId: this.orderId, chargeId, late });
    } finally {
      this.placing = false;
    }
    if (!placed) return false;
    this.setPlaced(chargeId);
    await bestEffort('removeMirror', () => mirroring.removeMirror({ orderId: this.orderId }));
    return true;
  }

  private setPlaced(chargeId: string): void {
    this.state.phase = 'placed';
    this.state.payment = 'succeeded';
    this.state.chargeId = chargeId;
  }

  /** Placed: wait for the seller (ship, deliver) or the customer (cancel before shipping). Each request is
   * consumed once handled; the validators refuse any request its phase does not allow. */
  private async fulfil(): Promise<OrderOutcome> {
    for (;;) {
      await condition(() => this.cancelRequest !== undefined || this.shipRequested || this.deliverRequested);
      if (this.cancelRequest) {
        return await this.compensate(this.cancelRequest === 'operator' ? 'canceled_by_operator' : 'canceled_by_customer', 'refunded');
      }
      if (this.shipRequested) {
        await store.advanceFulfilment({ orderId: this.orderId, from: 'placed', to: 'in_transit' });
        this.state.phase = 'in_transit';
        this.shipRequested = false;
      }
      if (this.deliverRequested) {
        await store.advanceFulfilment({ orderId: this.orderId, from: 'in_transit', to: 'delivered' });
        this.state.phase = 'delivered';
        this.deliverRequested = false;
        return await this.close({ orderId: this.orderId, result: 'delivered', latePayment: this.state.latePayment });
      }
    }
  }

  // ---- compensate, close -------------------------------------------------------------------------------------

  /** Money back first (every charge of the order), then the order canceled and its stock released. */
  private async compensate(reason: CancelReason, noMoneyStatus: OrderState['payment']): Promise<OrderOutcome> {
    const settlement = await this.settle(null);
    const refunded = settlement.refundedChargeIds.length > 0;
    await this.cancelAndRelease(reason, refunded ? 'refunded' : noMoneyStatus);
    return await this.close({ orderId: this.orderId, result: 'canceled', cancelReason: reason, latePayment: this.state.latePayment });
  }

  private async forceCancel(): Promise<OrderOutcome> {
    this.decided = true;
    if (this.charge) await this.charge; // its scope is cancelled with the workflow: wait for the attempt to end
    if (this.state.phase === 'canceled') return await this.close({ orderId: this.orderId, result: 'canceled', cancelReason: this.state.cancelReason });
    return await this.compensate('canceled_by_operator', 'voided');
  }

  /** Compensation: never cancelled half-way, each step idempotent. */
  private async cancelAndRelease(reason: CancelReason, paymentStatus: OrderState['payment']): Promise<void> {
    this.canceledView = await CancellationScope.nonCancellable(async () => {
      const view = await store.cancelOrder({ orderId: this.orderId, reason, paymentStatus });
      await bestEffort('removeMirror', () => mirroring.removeMirror({ orderId: this.orderId }));
      return view!;
    });
    this.state.phase = 'canceled';
    this.state.cancelReason = reason;
    this.state.payment = paymentStatus;
  }

  /**
   * Voids every pending charge of the order and refunds every captured one but `keep`, by charge id, then
   * records a refund on the order (MySQL or the archive). A success that arrives meanwhile is settled by the
   * next call (see close()).
   */
  private async settle(keep: string | null): Promise<Settlement> {
    this.unsettledSuccess = false;
    this.settledOnce = true;
    return CancellationScope.nonCancellable(async () => {
      let settlement: Settlement;
      try {
        settlement = await settling.settlePayment({ orderId: this.orderId, keepChargeId: keep });
      } catch (err) {
        this.state.needsAttention = `the gateway refused to settle the payments: ${String((err as Error).message)}`;
        log.error('order saga: payments could not be settled', { orderId: this.orderId, error: String(err) });
        return { refundedChargeIds: [], voidedChargeIds: [], refundedMinor: 0, unsettledChargeIds: [] };
      }
      if (settlement.unsettledChargeIds.length > 0) this.state.needsAttention = `unsettled charges: ${settlement.unsettledChargeIds.join(', ')}`;
      if (settlement.refundedChargeIds.length > 0) {
        // After an expiry the money came late; otherwise it is the refund of a cancel.
        const late = this.state.cancelReason === 'payment_timeout';
        await store.recordRefund({ orderId: this.orderId, late });
        if (late) this.state.latePayment = 'refunded';
      }
      return settlement;
    });
  }

  /** The last step of every finished order: archived, then every payment that turned up since the decision is
   * settled (a non-placed order keeps no charge, a delivered one only its own), until none is left. */
  private async close(outcome: OrderOutcome): Promise<OrderOutcome> {
    const keep = outcome.result === 'delivered' ? (this.state.chargeId ?? null) : null;
    await CancellationScope.nonCancellable(async () => {
      if (outcome.result === 'canceled' && (!this.settledOnce || this.unsettledSuccess)) await this.settle(keep);
      await store.archiveOrder({ orderId: this.orderId });
      this.state.archived = true;
    });
    // A success signal that lands while the completion is being sent makes the server refuse it and hand the
    // workflow the signal: this loop then runs again. So no success is ever left behind.
    for (;;) {
      await condition(allHandlersFinished);
      if (!this.unsettledSuccess) break;
      await this.settle(keep);
    }
    if (outcome.result === 'canceled' && this.state.latePayment) outcome.latePayment = this.state.latePayment;
    return outcome;
  }

  // ---- messages ----------------------------------------------------------------------------------------------

  /** Exactly one winner between payment, expiry and cancel: the first word decides; a success after a
   * non-placed decision is a late payment, settled before the saga ends. */
  private onPayment(r: PaymentResult): void {
    if (!this.decided) {
      this.word ??= r;
      return;
    }
    if (r.status !== 'succeeded' || r.chargeId === this.state.chargeId) return; // a redelivery of what placed it
    this.late ??= r;
    this.unsettledSuccess = true;
  }

  private registerHandlers(): void {
    setHandler(stateQuery, () => this.state);
    setHandler(paymentResultSignal, (r) => this.onPayment(r));
    setHandler(
      cancelUpdate,
      async () => {
        this.cancelRequest ??= 'customer';
        await condition(() => this.canceledView !== undefined);
        return this.canceledView!;
      },
      {
        validator: () => {
          const { phase } = this.state;
          if (this.cancelRequest || this.shipRequested || !['reserving', 'awaiting_payment', 'placed'].includes(phase)) {
            throw new Error(`the order is ${phase} and can no longer be canceled`);
          }
        },
      },
    );
    setHandler(
      shipUpdate,
      async () => {
        this.shipRequested = true;
        // A seller who ships the moment the order row says "placed" may arrive while the saga is still placing it.
        await condition(() => !this.placing);
        if (this.state.phase !== 'placed') {
          this.shipRequested = false;
          throw ApplicationFailure.nonRetryable(`the order is ${this.state.phase} and cannot be shipped`, 'InvalidTransition');
        }
        await condition(() => this.state.phase !== 'placed');
      },
      {
        validator: () => {
          const pending = this.shipRequested || this.cancelRequest !== undefined;
          if (this.placing && !pending) return; // taken once the order is placed (the handler waits)
          requirePhase(this.state, 'placed', 'shipped', pending);
        },
      },
    );
    setHandler(
      deliverUpdate,
      async () => {
        this.deliverRequested = true;
        await condition(() => this.state.phase !== 'in_transit');
      },
      { validator: () => requirePhase(this.state, 'in_transit', 'delivered', this.deliverRequested) },
    );
  }
}

/** Runs a convenience step; its failure is logged and the saga goes on (a cancellation still propagates). */
async function bestEffort(step: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn(`order saga: ${step} failed, going on without it`, { error: String(err) });
  }
}

function isFailureOfType(err: unknown, type: string): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type;
}

/** An update validator: the order must be in `phase`, with no such request already under way. */
function requirePhase(state: OrderState, phase: OrderState['phase'], verb: string, pending: boolean): void {
  if (state.phase !== phase) throw new Error(`the order is ${state.phase} and cannot be ${verb}`);
  if (pending) throw new Error(`the order is already being ${verb}`);
}
