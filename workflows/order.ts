/**
 * The order saga. One workflow per order, its id the order id, so the Temporal Web UI finds an order's saga by
 * its id. Deterministic code only: every side effect is an activity (activities/order-activities.ts).
 *
 *   claim   the order the API reserved in MySQL (a read: the saga never reserves or inserts)
 *   mirror  it in Redis with its payment expiry, beside the payment (best effort: a Redis outage never holds
 *           up the money)
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
 *
 * Saga v3 (patch `saga-v3`) adds, for sagas started since: per-seller shipments (each seller ships and delivers
 * its own lines), the search attributes operators filter on (workflows/search-attributes.ts), current details
 * and summaries for the Web UI, the `details` query, and the operators' updates (force-cancel, extend the payment
 * window, retry the payment, mark a manual refund). A v3 saga whose payments the gateway refused to settle waits
 * for a person (NeedsAttention) instead of closing.
 * Cancelling the workflow (Web UI, `temporal workflow cancel`) is an operator's force-cancel: it compensates.
 * Patch `mirror-beside-payment`: the mirror runs beside the payment instead of before it. Before it, a Redis outage
 * held each new order's charge up for the mirror's whole retry bound (15 s).
 * Patch `mirror-in-store-steps`: the claim writes the mirror and placing or canceling removes it, one try each on
 * the way, instead of activities of their own (two activity tasks and a workflow task fewer per saga on the
 * Temporal server, the flash sale's bound). Where a try fails (Redis down), the mirror activities above run as
 * before.
 * Patch `local-store-steps`: the claim and the placing run as local activities, inside the workflow task that
 * needs them, instead of activity tasks on the server: two activity tasks and a workflow task fewer per paid
 * order (bench:flashsale: 21 sagas/s against 16). Both are short, idempotent MySQL steps with the same retries;
 * the Web UI shows them as markers. The charge, the settlements and the compensations stay activities.
 * Patch `late-success-refund`: the refund of a success that came after a cancel for any reason is recorded as a
 * late payment (`late_payment: refunded`), as the late-payment workflow and the reconciler record it. Before it,
 * only a cancel for payment_timeout counted as late, so one refund was recorded two ways by who got there first.
 * Patch `keep-hand-refunded-charge`: after an operator's manual refund (markManualRefund) the charge it gave back
 * is kept out of any later settlement. Before it, a success arriving after the manual refund made the saga settle
 * every charge of the order at the gateway, the one already refunded by hand too: the buyer was paid back twice.
 * Patch `extra-charges-refunded-at-once`: a success for another charge of a placed order (the buyer paid twice) is
 * refunded at once, keeping the charge that paid, noted in the order's history and told to the buyer; the order
 * stays paid. Before it, the extra money was held until the order was delivered, and its refund then marked the
 * delivered order's payment `refunded`.
 */
import {
  ActivityCancellationType,
  type ActivityOptions,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { OrderActivities } from '../activities/order-activities';
import {
  cancelUpdate,
  deliverUpdate,
  detailsQuery,
  extendPaymentWindowUpdate,
  forceCancelUpdate,
  markManualRefundUpdate,
  paymentResultSignal,
  retryPaymentUpdate,
  shipUpdate,
  stateQuery,
} from '../orders/saga-messages';
import { legacyOrderWorkflow } from './order-legacy';
import { paymentsQueueOf } from './task-queues';
import {
  CustomerIdKey,
  NeedsAttentionKey,
  OrderStatusKey,
  OrderTotalKey,
  PaymentExpiresAtKey,
  PaymentStatusKey,
} from './search-attributes';
import type {
  ActorArgs,
  CancelReason,
  DeliverArgs,
  FulfilmentOutcome,
  OrderDetails,
  OrderInput,
  OrderOutcome,
  OrderState,
  OrderView,
  PaymentResult,
  SagaEvent,
  ShipArgs,
  ShipmentView,
} from '../orders/model';
import type { Settlement } from '../payments/settlement';

/** Marks sagas that run this file's code (see the header). */
export const SAGA_V2_PATCH = 'saga-v2';
/** Marks sagas with per-seller shipments, search attributes, details and the operators' updates (see the header). */
export const SAGA_V3_PATCH = 'saga-v3';
/** Marks sagas whose Redis mirror runs beside the payment (see the header). */
export const MIRROR_BESIDE_PAYMENT_PATCH = 'mirror-beside-payment';
/** Marks sagas whose store steps write and remove the Redis mirror on their way (see the header). */
export const MIRROR_IN_STORE_STEPS_PATCH = 'mirror-in-store-steps';
/** Marks sagas whose claim and placing are local activities (see the header). */
export const LOCAL_STORE_STEPS_PATCH = 'local-store-steps';
/** Marks sagas that record the refund of a success after any cancel as a late payment (see the header). */
export const LATE_SUCCESS_REFUND_PATCH = 'late-success-refund';
/** Marks sagas that keep a charge refunded by hand out of later settlements (see the header). */
export const KEEP_HAND_REFUNDED_CHARGE_PATCH = 'keep-hand-refunded-charge';
/** Marks sagas that refund another charge of a paid order at once, the order staying paid (see the header). */
export const EXTRA_CHARGES_PATCH = 'extra-charges-refunded-at-once';

/** The longest an operator may push a payment deadline out, from now. */
const MAX_PAYMENT_EXTENSION_MS = 7 * 24 * 3600 * 1000;

// The first step only reads: it retries until MySQL answers (an order the buyer was told exists is never
// given up because of a blip), and stops at once when the order is not live (a Reset of a finished order).
const CLAIM_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: ['OrderNotLive'],
  },
};
const claiming = proxyActivities<OrderActivities>(CLAIM_OPTIONS);
const claimingLocally = proxyLocalActivities<OrderActivities>(CLAIM_OPTIONS);

// Store writes and compensations retry until they succeed: each is idempotent, so a retry after a lost answer
// changes nothing twice.
const STORE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: ['OrderNotFinished'],
  },
};
const store = proxyActivities<OrderActivities>(STORE_OPTIONS);
// The placing, in the workflow task that decided it (patch local-store-steps); a local activity that outlasts the
// task's timeout keeps the task alive, and past a minute of retries it waits on a timer between tries.
const storeLocally = proxyLocalActivities<OrderActivities>(STORE_OPTIONS);

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
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: ['PaymentDeclined', 'GatewayRejected'],
  },
});

// Voids and refunds: retried while the gateway is unreachable; a refusal is for a person (NeedsAttention).
const settling = proxyActivities<OrderActivities>({
  startToCloseTimeout: '20s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: ['GatewayRejected'],
  },
});

export async function orderWorkflow(input: OrderInput): Promise<OrderOutcome> {
  if (!patched(SAGA_V2_PATCH)) return legacyOrderWorkflow(input);
  return new OrderSaga(input).run();
}

type Requester = 'customer' | 'operator';

/** A seller's ship or deliver request (v3), queued so two sellers at once are taken one after the other. */
interface FulfilmentRequest {
  kind: 'ship' | 'deliver';
  args: ShipArgs | DeliverArgs;
  outcome?: FulfilmentOutcome;
  refused?: string;
}

class OrderSaga {
  private readonly orderId: string;
  private expiresAt: string;
  private readonly state: OrderState = { phase: 'reserving', payment: 'pending' };
  /** Saga v3 (see the header): decided once, at the start, so a saga keeps its version for life. */
  private readonly v3: boolean;
  /** v3: the payment activities' own task queue (workflows/task-queues.ts). */
  private readonly paymentsQueue: string | undefined;
  private order: OrderView | undefined;
  /** The Redis mirror's write, running beside the payment; awaited before the mirror is removed, so a late write
   * never brings a removed mirror back. Never rejects. */
  private mirrored: Promise<void> = Promise.resolve();
  /** The store steps write and remove the mirror themselves (patch `mirror-in-store-steps`, asked at the claim). */
  private mirrorInStoreSteps = false;
  /** Patch local-store-steps: the claim and the placing run as local activities. */
  private localStoreSteps = false;
  /** The mirror activity was started (the claim's try failed, or before that patch): the removal waits for it. */
  private mirrorActivityStarted = false;
  /** The gateway's first word while the order waits for it. */
  private word: PaymentResult | undefined;
  private decided = false;
  /** A success seen after a non-placed decision (the late payment), and whether one arrived since the last
   * settlement: the saga settles again before it ends. */
  private late: PaymentResult | undefined;
  private unsettledSuccess = false;
  private settledOnce = false;
  /** An operator recorded a refund made outside the gateway (markManualRefund). */
  private refundedByHand = false;
  /** A success for another charge after the order was paid (the buyer paid twice), not refunded yet; a saga from
   * before EXTRA_CHARGES_PATCH leaves it to its close. */
  private extraSuccess = false;
  private extrasLeftToClose = false;
  private cancelRequest: Requester | undefined;
  /** Who asked for the cancel (v3), for the order's history, and an operator's note of why. */
  private cancelBy: string | undefined;
  private cancelNote: string | undefined;
  private canceledView: OrderView | undefined;
  private shipRequested = false;
  /** Between the payment's success and the saga taking the order as placed (markPlaced in flight). */
  private placing = false;
  private deliverRequested = false;
  private charge: Promise<void> | undefined;
  private chargeInFlight = false;
  private chargeAttempts = 0;
  /** v3: sellers' ship and deliver requests, oldest first, and the shipments so far. */
  private readonly fulfilment: FulfilmentRequest[] = [];
  private readonly shipments = new Map<string, ShipmentView>();
  /** v3: the saga's own history, for the `details` query. */
  private readonly history: SagaEvent[] = [];

  constructor(private readonly input: OrderInput) {
    this.orderId = input.orderId;
    this.expiresAt = input.expiresAt ?? new Date(Date.now() + input.paymentTimeoutMs).toISOString();
    this.v3 = patched(SAGA_V3_PATCH);
    this.paymentsQueue = this.v3 ? paymentsQueueOf(workflowInfo().taskQueue) : undefined;
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
      this.cancelBy ??= 'operator (workflow cancel)';
      return await CancellationScope.nonCancellable(() => this.forceCancel());
    }
  }

  private async steps(): Promise<OrderOutcome> {
    const claimed = await this.claim();
    if (!claimed) return { orderId: this.orderId, result: 'rejected' };
    if (claimed === 'placed') return await this.fulfil();
    if (!claimed.mirrored) {
      this.mirrorActivityStarted = true;
      if (patched(MIRROR_BESIDE_PAYMENT_PATCH)) this.mirrored = this.mirror().catch(() => undefined);
      else await this.mirror();
    }
    const outcome = await this.pay();
    return outcome === 'placed' ? await this.fulfil() : outcome;
  }

  // ---- claim -------------------------------------------------------------------------------------------------

  /** The live order (and whether its mirror was written), or null when there is none to run for (then nothing was
   * touched). */
  private async claim(): Promise<{ mirrored: boolean } | 'placed' | null> {
    this.mirrorInStoreSteps = patched(MIRROR_IN_STORE_STEPS_PATCH);
    this.localStoreSteps = patched(LOCAL_STORE_STEPS_PATCH);
    try {
      const { order, chargeId, mirrored } = await (this.localStoreSteps ? claimingLocally : claiming).claimOrder({
        orderId: this.orderId,
        ...(this.mirrorInStoreSteps ? { mirror: true } : {}),
      });
      this.order = order;
      this.observe('claimed', 'saga', [
        { key: CustomerIdKey, value: order.user_id },
        { key: OrderTotalKey, value: order.total_price },
        { key: PaymentExpiresAtKey, value: new Date(this.expiresAt) },
        { key: NeedsAttentionKey, value: false },
      ]);
      if (order.status === 'placed' && chargeId) {
        // A Reset of a placed order: its payment is done, go on with fulfilment.
        this.setPlaced(chargeId);
        return 'placed';
      }
      this.state.phase = 'awaiting_payment';
      this.observe(`awaiting payment until ${this.expiresAt}`, 'saga');
      return { mirrored: mirrored === true };
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

  /** Whether the next store step (placing, canceling) removes the mirror on its way: not while a mirror activity
   * may still write it, since its write must have ended first. */
  private storeStepRemovesMirror(): boolean {
    return this.mirrorInStoreSteps && !this.mirrorActivityStarted;
  }

  /** Once the order has left "awaiting payment": after the mirror's write has ended, so that it cannot land late. */
  private async removeMirror(): Promise<void> {
    await this.mirrored;
    await bestEffort('removeMirror', () => mirroring.removeMirror({ orderId: this.orderId }));
  }

  // ---- pay ---------------------------------------------------------------------------------------------------

  private async pay(): Promise<'placed' | OrderOutcome> {
    const scope = new CancellationScope();
    if (Date.parse(this.expiresAt) - Date.now() > 0 && !this.cancelRequest) {
      this.charge = scope.run(() => this.startCharge());
      await this.awaitPaymentWord();
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
    if (this.cancelRequest)
      return await this.compensate(
        this.cancelRequest === 'operator' ? 'canceled_by_operator' : 'canceled_by_customer',
        'voided',
      );
    return await this.expire();
  }

  /** Until the gateway's word, a cancel or the deadline. An operator may move the deadline out meanwhile (v3):
   * the wait then goes on to the new one. */
  private async awaitPaymentWord(): Promise<void> {
    for (;;) {
      const deadline = this.expiresAt;
      const msLeft = Date.parse(deadline) - Date.now();
      if (msLeft <= 0) return;
      const answered = this.v3
        ? await condition(
            () => this.word !== undefined || this.cancelRequest !== undefined || this.expiresAt !== deadline,
            msLeft,
            { summary: `payment window until ${deadline}` },
          )
        : await condition(() => this.word !== undefined || this.cancelRequest !== undefined, msLeft);
      if (!answered || this.word !== undefined || this.cancelRequest !== undefined) return;
    }
  }

  /** The charge, its answer handed to the same place as a webhook's. */
  private startCharge(): Promise<void> {
    const amount = this.order!.total_price;
    this.chargeInFlight = true;
    this.chargeAttempts += 1;
    const req = { orderId: this.orderId, amount, paymentMethod: this.input.paymentMethod, expiresAt: this.expiresAt };
    const attempt = this.v3
      ? charging.chargePayment.executeWithOptions(
          { taskQueue: this.paymentsQueue, summary: `charge ${amount} (${this.input.paymentMethod})` },
          [req],
        )
      : charging.chargePayment(req);
    return attempt
      .then(
        (r) => (r.status === 'pending' ? undefined : this.onPayment({ status: r.status, chargeId: r.chargeId })),
        (err) => {
          if (isFailureOfType(err, 'PaymentDeclined')) {
            const cause = (err as ActivityFailure).cause as ApplicationFailure;
            this.onPayment({ status: 'declined', chargeId: String(cause.details?.[0] ?? '') });
          }
          // Cancelled, timed out or refused: the settlement at the end looks at the gateway itself.
        },
      )
      .finally(() => {
        this.chargeInFlight = false;
      });
  }

  /** No answer by the deadline: canceled and released at once; a success in the late window is refunded or,
   * with LATE_PAYMENT_POLICY=accept, places the order again if its stock can still be taken. */
  private async expire(): Promise<OrderOutcome> {
    this.state.payment = 'expired';
    await this.cancelAndRelease('payment_timeout', 'expired');
    if (!this.late) await condition(() => this.late !== undefined, this.input.latePaymentWindowMs);
    const late = this.late;
    if (
      late &&
      this.input.latePaymentPolicy === 'accept' &&
      (await store.acceptLatePayment({ orderId: this.orderId, chargeId: late.chargeId }))
    ) {
      this.state.latePayment = 'accepted';
      this.state.phase = 'placed';
      // As acceptLatePayment clears the row's cancel_reason: a later refund of this order is of its own payment,
      // not of a late one. Only activity inputs and queries change, so replay needs no patch.
      this.state.cancelReason = undefined;
      this.setPlaced(late.chargeId);
      return await this.fulfil();
    }
    if (late) this.state.latePayment = 'refunded';
    return await this.close({
      orderId: this.orderId,
      result: 'canceled',
      cancelReason: 'payment_timeout',
      latePayment: this.state.latePayment,
    });
  }

  // ---- place, fulfil -----------------------------------------------------------------------------------------

  /** True once the order is placed; false when it is no longer `created` (then the caller compensates). */
  private async place(chargeId: string, late: boolean): Promise<boolean> {
    this.placing = true; // MySQL may say "placed" before this step returns: a ship then waits for it (see handlers)
    const req = { orderId: this.orderId, chargeId, late };
    let placed: boolean;
    let unmirrored = false;
    try {
      const steps = this.localStoreSteps ? storeLocally : store;
      if (this.storeStepRemovesMirror()) ({ placed, unmirrored } = await steps.markPlacedAndUnmirror(req));
      else placed = await steps.markPlaced(req);
    } finally {
      this.placing = false;
    }
    if (!placed) return false;
    this.setPlaced(chargeId);
    if (!unmirrored) await this.removeMirror();
    return true;
  }

  private setPlaced(chargeId: string): void {
    this.state.phase = 'placed';
    this.state.payment = 'succeeded';
    this.state.chargeId = chargeId;
    this.observe(`placed, paid by ${chargeId}`, 'saga');
  }

  /** Placed: wait for the sellers (ship, deliver) or the customer (cancel before shipping). */
  private async fulfil(): Promise<OrderOutcome> {
    return this.v3 ? await this.fulfilBySeller() : await this.fulfilWhole();
  }

  /** v3: each seller's ship and deliver, one at a time in arrival order; a refused one is answered with its
   * reason and changes nothing. Delivered once every seller's shipment is. */
  private async fulfilBySeller(): Promise<OrderOutcome> {
    for (;;) {
      await condition(
        () => this.cancelRequest !== undefined || this.fulfilment.length > 0 || this.extraChargeToRefund(),
      );
      if (this.cancelRequest && this.state.phase === 'placed') {
        return await this.compensate(
          this.cancelRequest === 'operator' ? 'canceled_by_operator' : 'canceled_by_customer',
          'refunded',
        );
      }
      if (this.extraChargeToRefund()) {
        this.extraSuccess = false;
        if (patched(EXTRA_CHARGES_PATCH)) await this.settle(this.state.chargeId!);
        else this.extrasLeftToClose = true;
        continue;
      }
      const request = this.fulfilment[0]!;
      try {
        request.outcome =
          request.kind === 'ship'
            ? await this.ship(request.args as ShipArgs)
            : await this.deliver(request.args as DeliverArgs);
      } catch (err) {
        if (isCancellation(err) || !isFailureOfType(err, 'FulfilmentRefused')) throw err;
        request.refused = ((err as ActivityFailure).cause as ApplicationFailure).message;
      } finally {
        this.fulfilment.shift();
      }
      if (this.state.phase === 'delivered') {
        return await this.close({ orderId: this.orderId, result: 'delivered', latePayment: this.state.latePayment });
      }
    }
  }

  private async ship(args: ShipArgs): Promise<FulfilmentOutcome> {
    const req = {
      orderId: this.orderId,
      supplierId: args.supplierId,
      carrier: args.carrier,
      trackingNumber: args.trackingNumber,
      actor: args.by,
    };
    const out = await store.shipLines.executeWithOptions({ summary: `ship the lines of seller ${args.supplierId}` }, [
      req,
    ]);
    this.shipments.set(args.supplierId, out.shipment);
    this.state.phase = out.orderStatus === 'in_transit' ? 'in_transit' : this.state.phase;
    this.observe(`shipped by seller ${args.supplierId}: ${args.carrier} ${args.trackingNumber}`, args.by);
    return out;
  }

  private async deliver(args: DeliverArgs): Promise<FulfilmentOutcome> {
    const req = { orderId: this.orderId, supplierId: args.supplierId, actor: args.by };
    const out = await store.deliverLines.executeWithOptions(
      { summary: `deliver the shipment of seller ${args.supplierId}` },
      [req],
    );
    this.shipments.set(args.supplierId, out.shipment);
    if (out.orderStatus === 'delivered') this.state.phase = 'delivered';
    this.observe(`delivered: the shipment of seller ${args.supplierId}`, args.by);
    return out;
  }

  /** Before v3: the whole order, placed -> in_transit -> delivered. Each request is consumed once handled; the
   * validators refuse any request its phase does not allow. */
  private async fulfilWhole(): Promise<OrderOutcome> {
    for (;;) {
      await condition(() => this.cancelRequest !== undefined || this.shipRequested || this.deliverRequested);
      if (this.cancelRequest) {
        return await this.compensate(
          this.cancelRequest === 'operator' ? 'canceled_by_operator' : 'canceled_by_customer',
          'refunded',
        );
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

  /** Another charge of the paid order succeeded (paid twice) and is not settled yet. */
  private extraChargeToRefund(): boolean {
    return this.extraSuccess && !this.extrasLeftToClose && this.state.phase !== 'canceled';
  }

  // ---- compensate, close -------------------------------------------------------------------------------------

  /** Money back first (every charge of the order), then the order canceled and its stock released. */
  private async compensate(reason: CancelReason, noMoneyStatus: OrderState['payment']): Promise<OrderOutcome> {
    const settlement = await this.settle(null);
    const refunded = settlement.refundedChargeIds.length > 0;
    // v3: a paid order whose refund the gateway refused still holds the money until a person gives it back.
    const held = this.v3 && !refunded && this.state.needsAttention !== undefined && this.state.payment === 'succeeded';
    await this.cancelAndRelease(reason, refunded ? 'refunded' : held ? 'succeeded' : noMoneyStatus);
    return await this.close({
      orderId: this.orderId,
      result: 'canceled',
      cancelReason: reason,
      latePayment: this.state.latePayment,
    });
  }

  private async forceCancel(): Promise<OrderOutcome> {
    this.decided = true;
    if (this.charge) await this.charge; // its scope is cancelled with the workflow: wait for the attempt to end
    if (this.state.phase === 'canceled')
      return await this.close({ orderId: this.orderId, result: 'canceled', cancelReason: this.state.cancelReason });
    return await this.compensate('canceled_by_operator', 'voided');
  }

  /** Compensation: never cancelled half-way, each step idempotent. */
  private async cancelAndRelease(reason: CancelReason, paymentStatus: OrderState['payment']): Promise<void> {
    const actor = this.v3
      ? reason === 'canceled_by_customer' || reason === 'canceled_by_operator'
        ? this.cancelBy
        : undefined
      : undefined;
    // The operator's note goes into the status history with the cancel (an activity input: replay needs no patch).
    const note = reason === 'canceled_by_operator' ? this.cancelNote : undefined;
    const req = {
      orderId: this.orderId,
      reason,
      paymentStatus,
      ...(actor ? { actor } : {}),
      ...(note ? { note } : {}),
    };
    this.canceledView = await CancellationScope.nonCancellable(async () => {
      if (this.storeStepRemovesMirror()) {
        const { view, unmirrored } = await store.cancelOrderAndUnmirror(req);
        if (!unmirrored) await this.removeMirror();
        return view!;
      }
      const view = await store.cancelOrder(req);
      await this.removeMirror();
      return view!;
    });
    this.state.phase = 'canceled';
    this.state.cancelReason = reason;
    this.state.payment = paymentStatus;
    this.observe(`canceled (${reason}), payment ${paymentStatus}`, actor ?? 'saga');
  }

  /**
   * Voids every pending charge of the order and refunds every captured one but `keep`, by charge id, then
   * records a refund on the order (MySQL or the archive). A success that arrives meanwhile is settled by the
   * next call (see close()).
   */
  private async settle(keep: string | null): Promise<Settlement> {
    const cameLate = this.unsettledSuccess;
    this.unsettledSuccess = false;
    this.settledOnce = true;
    return CancellationScope.nonCancellable(async () => {
      let settlement: Settlement;
      try {
        const req = { orderId: this.orderId, keepChargeId: keep };
        settlement = this.v3
          ? await settling.settlePayment.executeWithOptions(
              {
                taskQueue: this.paymentsQueue,
                summary: 'void or refund every charge of the order' + (keep ? ` but ${keep}` : ''),
              },
              [req],
            )
          : await settling.settlePayment(req);
      } catch (err) {
        this.flag(`the gateway refused to settle the payments: ${String((err as Error).message)}`);
        log.error('order saga: payments could not be settled', { orderId: this.orderId, error: String(err) });
        return { refundedChargeIds: [], voidedChargeIds: [], refundedMinor: 0, unsettledChargeIds: [] };
      }
      if (settlement.unsettledChargeIds.length > 0)
        this.flag(`unsettled charges: ${settlement.unsettledChargeIds.join(', ')}`);
      const paidBeside = keep !== null && this.state.phase !== 'canceled';
      if (settlement.refundedChargeIds.length > 0 && paidBeside && patched(EXTRA_CHARGES_PATCH)) {
        // The order stays paid by `keep`: what went back was money beside it, noted on the order, not its payment.
        const chargeIds = settlement.refundedChargeIds;
        await store.recordExtraRefund({
          orderId: this.orderId,
          chargeIds,
          keptChargeId: keep,
          refundedMinor: settlement.refundedMinor,
        });
        this.observe(`refunded ${chargeIds.join(', ')}, paid beside ${keep}`, 'saga');
      } else if (settlement.refundedChargeIds.length > 0) {
        // After an expiry the money came late, and so did a success that arrived after any cancel; otherwise it
        // is the refund of a cancel.
        const late =
          this.state.cancelReason === 'payment_timeout' ||
          (cameLate && this.state.phase === 'canceled' && patched(LATE_SUCCESS_REFUND_PATCH));
        await store.recordRefund({ orderId: this.orderId, late });
        if (late) this.state.latePayment = 'refunded';
        this.observe(`refunded ${settlement.refundedChargeIds.join(', ')}`, 'saga');
      }
      return settlement;
    });
  }

  /** The last step of every finished order: archived, then every payment that turned up since the decision is
   * settled (a non-placed order keeps no charge, a delivered one only its own), until none is left. A v3 saga
   * whose payments could not be settled waits for a person first (NeedsAttention, markManualRefund). */
  private async close(outcome: OrderOutcome): Promise<OrderOutcome> {
    this.refuseQueuedFulfilment();
    const keep = outcome.result === 'delivered' ? (this.state.chargeId ?? null) : null;
    await CancellationScope.nonCancellable(async () => {
      if (outcome.result === 'canceled' && (!this.settledOnce || this.unsettledSuccess))
        await this.settle(this.keepAfterClose(keep));
      if (this.v3 && this.state.needsAttention) await condition(() => this.state.needsAttention === undefined);
      await store.archiveOrder({ orderId: this.orderId });
      this.state.archived = true;
      this.observe('archived', 'saga');
    });
    // A success signal that lands while the completion is being sent makes the server refuse it and hand the
    // workflow the signal: this loop then runs again. So no success is ever left behind.
    for (;;) {
      await condition(allHandlersFinished);
      if (!this.unsettledSuccess) break;
      await this.settle(this.keepAfterClose(keep));
    }
    if (outcome.result === 'canceled' && this.state.latePayment) outcome.latePayment = this.state.latePayment;
    return outcome;
  }

  /** The charge an operator refunded by hand stays out of the settlement: the gateway still shows it captured. */
  private keepAfterClose(keep: string | null): string | null {
    if (keep || !this.refundedByHand || !this.state.chargeId) return keep;
    return patched(KEEP_HAND_REFUNDED_CHARGE_PATCH) ? this.state.chargeId : keep;
  }

  /** A finished order ships nothing more: requests still queued are answered with why. */
  private refuseQueuedFulfilment(): void {
    for (const r of this.fulfilment.splice(0)) r.refused = `the order is ${this.state.phase}`;
  }

  // ---- what operators see (v3) -------------------------------------------------------------------------------

  /** Records a step in the saga's history and refreshes what the Web UI shows: the search attributes of the
   * current status (plus `extra`) and the current details. Before v3 it does nothing (no new commands). */
  private observe(event: string, by: string, extra: SearchAttributeUpdatePair[] = []): void {
    if (!this.v3) return;
    this.history.push({ at: new Date().toISOString(), event, by });
    const status = this.orderStatus();
    upsertSearchAttributes([
      ...(status ? [{ key: OrderStatusKey, value: status }] : []),
      { key: PaymentStatusKey, value: this.state.payment },
      ...extra,
    ]);
    setCurrentDetails(this.currentDetails());
  }

  /** Sets NeedsAttention with its reason (v3 then waits for a person before it archives). */
  private flag(reason: string): void {
    this.state.needsAttention = reason;
    this.observe(`needs attention: ${reason}`, 'saga', [{ key: NeedsAttentionKey, value: true }]);
  }

  private orderStatus(): OrderView['status'] | undefined {
    const p = this.state.phase;
    if (p === 'awaiting_payment') return 'created';
    return p === 'reserving' || p === 'rejected' ? undefined : p;
  }

  /** What the saga waits for, and until when. */
  private waitingFor(): { what: string; until: string | null } {
    if (this.state.needsAttention)
      return { what: `a person: ${this.state.needsAttention} (markManualRefund)`, until: null };
    switch (this.state.phase) {
      case 'reserving':
        return { what: 'the order to be read from MySQL', until: null };
      case 'awaiting_payment':
        return {
          what: `the payment (${this.input.paymentMethod}), attempt ${this.chargeAttempts}`,
          until: this.expiresAt,
        };
      case 'placed':
        return { what: 'the sellers to ship (or the customer to cancel)', until: null };
      case 'in_transit':
        return {
          what: `delivery: ${[...this.shipments.values()].filter((s) => s.status === 'in_transit').length} shipment(s) on the way, or sellers still to ship`,
          until: null,
        };
      default:
        return { what: this.state.archived ? 'nothing: finished and archived' : 'archiving', until: null };
    }
  }

  private currentDetails(): string {
    const w = this.waitingFor();
    const lines = [
      `**${this.orderStatus() ?? this.state.phase}**, payment ${this.state.payment}`,
      `waiting for ${w.what}${w.until ? ` until ${w.until}` : ''}`,
    ];
    if (this.shipments.size > 0)
      lines.push(
        `shipments: ${[...this.shipments.values()].map((s) => `${s.supplier_id} ${s.carrier} ${s.tracking_number} (${s.status})`).join('; ')}`,
      );
    return lines.join('\n');
  }

  private details(): OrderDetails {
    const w = this.waitingFor();
    const status = this.orderStatus();
    return {
      orderId: this.orderId,
      phase: this.state.phase,
      waitingFor: w.what,
      until: w.until,
      order: this.order
        ? {
            ...this.order,
            status: status ?? this.order.status,
            payment_status: this.state.payment,
            expires_at: this.expiresAt,
          }
        : null,
      payment: {
        status: this.state.payment,
        method: this.input.paymentMethod,
        amount: this.order?.total_price ?? null,
        chargeId: this.state.chargeId ?? null,
        expiresAt: this.expiresAt,
        attempts: this.chargeAttempts,
        inFlight: this.chargeInFlight,
      },
      shipments: [...this.shipments.values()],
      needsAttention: this.state.needsAttention ?? null,
      history: [...this.history],
    };
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
    if (this.v3 && r.chargeId === this.word?.chargeId) return; // the same, while the order is being placed
    this.late ??= r;
    this.unsettledSuccess = true;
    if (this.state.chargeId !== undefined) this.extraSuccess = true;
  }

  private registerHandlers(): void {
    setHandler(stateQuery, () => this.state);
    setHandler(detailsQuery, () => this.details());
    setHandler(paymentResultSignal, (r) => this.onPayment(r));
    this.registerCustomerAndSellerHandlers();
    this.registerOperatorHandlers();
  }

  private registerCustomerAndSellerHandlers(): void {
    setHandler(
      cancelUpdate,
      async (args) => {
        this.cancelRequest ??= 'customer';
        this.cancelBy ??= args?.by;
        await condition(() => this.canceledView !== undefined);
        return this.canceledView!;
      },
      {
        validator: (_args) => {
          const { phase } = this.state;
          if (
            this.cancelRequest ||
            this.shipRequested ||
            this.fulfilment.length > 0 ||
            !['reserving', 'awaiting_payment', 'placed'].includes(phase)
          ) {
            throw new Error(`the order is ${phase} and can no longer be canceled`);
          }
        },
      },
    );
    setHandler(
      shipUpdate,
      async (args) => {
        if (this.v3) return await this.queueFulfilment('ship', args!);
        this.shipRequested = true;
        // A seller who ships the moment the order row says "placed" may arrive while the saga is still placing it.
        await condition(() => !this.placing);
        if (this.state.phase !== 'placed') {
          this.shipRequested = false;
          throw ApplicationFailure.nonRetryable(
            `the order is ${this.state.phase} and cannot be shipped`,
            'InvalidTransition',
          );
        }
        await condition(() => this.state.phase !== 'placed');
      },
      {
        validator: (args) => {
          if (this.v3) return this.validateFulfilment('shipped', args, (a) => !!a.carrier && !!a.trackingNumber);
          const pending = this.shipRequested || this.cancelRequest !== undefined;
          if (this.placing && !pending) return; // taken once the order is placed (the handler waits)
          requirePhase(this.state, 'placed', 'shipped', pending);
        },
      },
    );
    setHandler(
      deliverUpdate,
      async (args) => {
        if (this.v3) return await this.queueFulfilment('deliver', args!);
        this.deliverRequested = true;
        await condition(() => this.state.phase !== 'in_transit');
      },
      {
        validator: (args) => {
          if (this.v3) return this.validateFulfilment('delivered', args, () => true);
          requirePhase(this.state, 'in_transit', 'delivered', this.deliverRequested);
        },
      },
    );
  }

  /** v3: a ship needs the order placed or in transit (or being placed), no cancel pending, and a seller, a
   * carrier and a tracking number; the activity checks the rest against MySQL (whose lines, shipped already). */
  private validateFulfilment<A extends { supplierId: string; by: string }>(
    verb: string,
    args: A | undefined,
    complete: (a: A) => boolean,
  ): void {
    if (!args || typeof args.supplierId !== 'string' || !args.by || !complete(args))
      throw new Error(`to be ${verb}, the request names the seller and who asks`);
    if (this.cancelRequest !== undefined) throw new Error(`the order is being canceled and cannot be ${verb}`);
    const { phase } = this.state;
    if (phase === 'placed' || phase === 'in_transit' || (this.placing && verb === 'shipped')) return;
    throw new Error(`the order is ${phase} and cannot be ${verb}`);
  }

  private async queueFulfilment(
    kind: FulfilmentRequest['kind'],
    args: ShipArgs | DeliverArgs,
  ): Promise<FulfilmentOutcome> {
    await condition(() => !this.placing);
    if (this.state.phase !== 'placed' && this.state.phase !== 'in_transit') {
      throw ApplicationFailure.nonRetryable(
        `the order is ${this.state.phase} and cannot be ${kind === 'ship' ? 'shipped' : 'delivered'}`,
        'InvalidTransition',
      );
    }
    const request: FulfilmentRequest = { kind, args };
    this.fulfilment.push(request);
    await condition(() => request.outcome !== undefined || request.refused !== undefined);
    if (request.refused !== undefined) throw ApplicationFailure.nonRetryable(request.refused, 'InvalidTransition');
    return request.outcome!;
  }

  private registerOperatorHandlers(): void {
    setHandler(
      forceCancelUpdate,
      async (args) => {
        this.cancelRequest ??= 'operator';
        this.cancelBy ??= args.by;
        this.cancelNote ??= args.note;
        this.observe(`force-cancel requested${args.note ? `: ${args.note}` : ''}`, args.by);
        await condition(() => this.canceledView !== undefined);
        return this.canceledView!;
      },
      {
        validator: (args) => {
          this.requireV3();
          requireActor(args);
          const { phase } = this.state;
          if (this.cancelRequest) throw new Error('the order is already being canceled');
          if (this.fulfilment.length > 0 || !['reserving', 'awaiting_payment', 'placed'].includes(phase)) {
            throw new Error(
              `the order is ${phase} and can no longer be canceled${phase === 'in_transit' ? ' (it has shipped: refund it as a return)' : ''}`,
            );
          }
        },
      },
    );
    setHandler(
      extendPaymentWindowUpdate,
      async (args) => {
        const extended = await store.extendPaymentWindow.executeWithOptions(
          { summary: `extend the payment window to ${args.expiresAt}` },
          [
            {
              orderId: this.orderId,
              expiresAt: args.expiresAt,
              actor: args.by,
              ...(args.note ? { note: args.note } : {}),
            },
          ],
        );
        if (!extended || this.decided)
          throw ApplicationFailure.nonRetryable('the order no longer waits for its payment', 'InvalidTransition');
        if (Date.parse(args.expiresAt) > Date.parse(this.expiresAt)) this.expiresAt = args.expiresAt;
        this.observe(`payment window extended to ${this.expiresAt}`, args.by, [
          { key: PaymentExpiresAtKey, value: new Date(this.expiresAt) },
        ]);
        return this.expiresAt;
      },
      {
        validator: (args) => {
          this.requireV3();
          requireActor(args);
          this.requireAwaitingPayment();
          const at = Date.parse(args.expiresAt);
          if (!Number.isFinite(at)) throw new Error('expiresAt must be an ISO 8601 date-time');
          if (at <= Date.parse(this.expiresAt))
            throw new Error(`the new deadline must be later than the current one (${this.expiresAt})`);
          if (at > Date.now() + MAX_PAYMENT_EXTENSION_MS)
            throw new Error('the new deadline may be at most 7 days from now');
        },
      },
    );
    setHandler(
      retryPaymentUpdate,
      async (args) => {
        await store.recordOrderAction({
          orderId: this.orderId,
          what: `payment retried${args.note ? `: ${args.note}` : ''}`,
          actor: args.by,
        });
        this.observe('payment retried', args.by);
        if (this.decided || this.chargeInFlight) return; // decided meanwhile, or another retry was quicker
        this.charge = this.startCharge();
      },
      {
        validator: (args) => {
          this.requireV3();
          requireActor(args);
          this.requireAwaitingPayment();
          if (this.chargeAttempts === 0) throw new Error('the first charge has not been made yet: nothing to retry');
          if (this.chargeInFlight) throw new Error('a charge is in flight: wait for its answer (or the deadline)');
        },
      },
    );
    setHandler(
      markManualRefundUpdate,
      async (args) => {
        await store.recordRefund({ orderId: this.orderId, late: this.state.cancelReason === 'payment_timeout' });
        await store.recordOrderAction({
          orderId: this.orderId,
          what: `refunded by hand: ${args.reference}${args.note ? ` (${args.note})` : ''}`,
          actor: args.by,
        });
        this.state.payment = 'refunded';
        this.refundedByHand = true;
        this.state.needsAttention = undefined;
        this.observe(`refunded by hand: ${args.reference}`, args.by, [{ key: NeedsAttentionKey, value: false }]);
      },
      {
        validator: (args) => {
          this.requireV3();
          requireActor(args);
          if (!args.reference || typeof args.reference !== 'string')
            throw new Error('a manual refund names its reference');
          if (!this.state.needsAttention || this.state.phase !== 'canceled')
            throw new Error('only a canceled order whose refund the gateway refused needs a manual refund');
        },
      },
    );
  }

  /** Operators' updates act on v3 sagas only (older ones: cancel the workflow to force-cancel). */
  private requireV3(): void {
    if (!this.v3) throw new Error('this saga predates operator actions: cancel the workflow to force-cancel it');
  }

  private requireAwaitingPayment(): void {
    if (this.state.phase !== 'awaiting_payment' || this.decided)
      throw new Error(`the order is ${this.state.phase} and no longer waits for its payment`);
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

/** An activity's failure of this type. A local activity's can reach the workflow as the ApplicationFailure itself
 * (seen with the claim of patch local-store-steps), a regular activity's always as an ActivityFailure around it. */
function isFailureOfType(err: unknown, type: string): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.type === type;
}

/** An operator's update names who asks (recorded in the order's history). */
function requireActor(args: ActorArgs | undefined): void {
  if (!args || typeof args.by !== 'string' || args.by.trim() === '')
    throw new Error('say who asks: { "by": "<your name or id>" }');
}

/** An update validator: the order must be in `phase`, with no such request already under way. */
function requirePhase(state: OrderState, phase: OrderState['phase'], verb: string, pending: boolean): void {
  if (state.phase !== phase) throw new Error(`the order is ${state.phase} and cannot be ${verb}`);
  if (pending) throw new Error(`the order is already being ${verb}`);
}
