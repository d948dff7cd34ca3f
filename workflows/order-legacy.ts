/**
 * The order saga as it ran before `saga-v2` (workflows/order.ts): FROZEN. Sagas started before v2 was deployed
 * (their histories have no `saga-v2` marker) keep replaying this code until they end, and the recorded
 * histories in test/replay/histories prove it. Never change a command here; fix behaviour in order.ts.
 *
 *   reserve stock (local activity, answers the update-with-start of POST /orders)
 *   -> mirror in Redis -> charge, racing the payment timer, a webhook and the customer's cancel
 *   -> placed | canceled (stock released)  -> after an expiry, a late success is refunded or accepted
 *   -> placed waits for ship / deliver / cancel (refund + release)
 *   -> delivered | canceled: archived to Cassandra (and removed from MySQL), then the workflow ends
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { OrderActivities } from '../activities/order-activities';
import {
  cancelUpdate,
  deliverUpdate,
  paymentResultSignal,
  reservationUpdate,
  shipUpdate,
  stateQuery,
} from '../orders/saga-messages';
import type {
  CancelReason,
  OrderInput,
  OrderOutcome,
  OrderState,
  OrderView,
  PaymentResult,
  ReservationResult,
} from '../orders/model';

// A short MySQL transaction: a local activity saves two round trips to the server on the hot path.
const { reserveStock } = proxyLocalActivities<OrderActivities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8 },
});

// Store writes and compensations retry until they succeed: each is idempotent, so a retry after a lost
// answer changes nothing twice. Each is a short transaction: a 10 s limit lets a crashed worker's attempt be
// retried soon.
const store = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

// A charge may hang (pm_card_noResponse): each attempt gives up after 10 s and the payment timer bounds the
// whole. A decline is a non-retryable failure, never retried.
const gateway = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: ['PaymentDeclined'],
  },
});

/** Added once histories without the archive step were in flight: they replay without it. */
const ARCHIVE_PATCH = 'archive-finished-orders';

export async function legacyOrderWorkflow(input: OrderInput): Promise<OrderOutcome> {
  const { orderId } = input;
  const state: OrderState = { phase: 'reserving', payment: 'pending' };
  let reservation: ReservationResult | undefined;
  let reservationError: ApplicationFailure | undefined;
  let payment: PaymentResult | undefined; // the gateway's first word while the order waits for it
  let latePayment: PaymentResult | undefined; // a success after the wait was decided
  let decided = false;
  let cancelRequested = false;
  let canceledView: OrderView | undefined;
  let shipRequested = false;
  let deliverRequested = false;

  setHandler(stateQuery, () => state);

  setHandler(reservationUpdate, async () => {
    await condition(() => reservation !== undefined || reservationError !== undefined);
    if (reservationError) throw reservationError;
    return reservation!;
  });

  // Exactly one winner between payment, expiry and cancel: whatever the workflow sees first decides, and a
  // success seen after that is a late payment.
  const onPayment = (r: PaymentResult) => {
    if (!decided) payment ??= r;
    else if (r.status === 'succeeded' && state.payment !== 'succeeded') latePayment ??= r;
  };
  setHandler(paymentResultSignal, onPayment);

  setHandler(
    cancelUpdate,
    async (_args) => {
      cancelRequested = true;
      await condition(() => canceledView !== undefined);
      return canceledView!;
    },
    {
      validator: (_args) => {
        if (cancelRequested || shipRequested || (state.phase !== 'awaiting_payment' && state.phase !== 'placed')) {
          throw new Error(`the order is ${state.phase} and can no longer be canceled`);
        }
      },
    },
  );
  setHandler(
    shipUpdate,
    async (_args) => {
      shipRequested = true;
      await condition(() => state.phase !== 'placed');
    },
    { validator: (_args) => requirePhase(state, 'placed', 'shipped', shipRequested || cancelRequested) },
  );
  setHandler(
    deliverUpdate,
    async (_args) => {
      deliverRequested = true;
      await condition(() => state.phase !== 'in_transit');
    },
    { validator: (_args) => requirePhase(state, 'in_transit', 'delivered', deliverRequested) },
  );

  // 1. Reserve: all lines or none, in one MySQL transaction (normally done by the API already: then a read).
  const expiresAt = input.expiresAt ?? new Date(Date.now() + input.paymentTimeoutMs).toISOString();
  try {
    reservation = await reserveStock({ ...input, expiresAt });
  } catch (err) {
    // The store stayed down through every retry. A commit whose answer was lost may still hold stock:
    // release it (a no-op when nothing was written) before failing loudly to the caller.
    log.error('reservation failed', { orderId, error: String(err) });
    reservationError = ApplicationFailure.nonRetryable(
      'the stock could not be reserved, try again',
      'ReservationFailed',
    );
    await CancellationScope.nonCancellable(() =>
      store.cancelOrder({ orderId, reason: 'reservation_failed', paymentStatus: 'pending' }),
    );
    state.phase = 'rejected';
    return { orderId, result: 'rejected' };
  }
  if (!reservation.ok) {
    state.phase = 'rejected';
    return { orderId, result: 'rejected', shortages: reservation.shortages };
  }
  state.phase = 'awaiting_payment';
  await store.mirrorOrder(reservation.order);

  // 2. Payment, raced against the timer and the customer's cancel.
  const chargeScope = new CancellationScope();
  chargeScope
    .run(() =>
      gateway.chargePayment({
        orderId,
        amount: reservation.order.total_price,
        paymentMethod: input.paymentMethod,
        expiresAt,
      }),
    )
    .then(
      (r) => (r.status === 'pending' ? undefined : onPayment({ status: r.status, chargeId: r.chargeId })),
      (err) => {
        if (isCancellation(err)) return;
        if (
          err instanceof ActivityFailure &&
          err.cause instanceof ApplicationFailure &&
          err.cause.type === 'PaymentDeclined'
        ) {
          onPayment({ status: 'declined', chargeId: String(err.cause.details?.[0] ?? '') });
        }
      },
    );
  const ms = Math.max(0, Date.parse(expiresAt) - Date.now());
  await condition(() => payment !== undefined || cancelRequested, ms);
  decided = true;
  chargeScope.cancel();

  if (payment?.status === 'succeeded') {
    await place(payment.chargeId, false);
  } else if (payment?.status === 'declined') {
    state.payment = 'declined';
    return await archived(await cancelAndRelease('payment_declined', 'declined'));
  } else if (cancelRequested) {
    // A charge may have landed just now: refunding by order id is harmless when nothing was charged.
    const refund = await CancellationScope.nonCancellable(() => gateway.refundPayment({ orderId }));
    return await archived(await cancelAndRelease('canceled_by_customer', refund.refunded ? 'refunded' : 'voided'));
  } else {
    state.payment = 'expired';
    await cancelAndRelease('payment_timeout', 'expired');
    // The gateway may still say yes: listen for a while, then refund it or keep the order.
    if (!(await condition(() => latePayment !== undefined, input.latePaymentWindowMs))) {
      return await archived({ orderId, result: 'canceled', cancelReason: 'payment_timeout' });
    }
    const accepted =
      input.latePaymentPolicy === 'accept' &&
      (await store.acceptLatePayment({ orderId, chargeId: latePayment!.chargeId }));
    if (!accepted) {
      await gateway.refundPayment({ orderId });
      await store.recordRefund({ orderId, late: true });
      state.latePayment = 'refunded';
      return await archived({ orderId, result: 'canceled', cancelReason: 'payment_timeout', latePayment: 'refunded' });
    }
    state.latePayment = 'accepted';
    state.phase = 'placed';
    state.payment = 'succeeded';
  }

  // 3. Placed: wait for the seller (ship, deliver) or the customer (cancel before shipping). Each request is
  // consumed once handled; the validators refuse any request its phase does not allow.
  for (;;) {
    await condition(() => cancelRequested || shipRequested || deliverRequested);
    if (cancelRequested) {
      await CancellationScope.nonCancellable(async () => {
        await gateway.refundPayment({ orderId });
        await store.recordRefund({ orderId, late: false });
      });
      return await archived(await cancelAndRelease('canceled_by_customer', 'refunded'));
    }
    if (shipRequested) {
      await store.advanceFulfilment({ orderId, from: 'placed', to: 'in_transit' });
      state.phase = 'in_transit';
      shipRequested = false;
    }
    if (deliverRequested) {
      await store.advanceFulfilment({ orderId, from: 'in_transit', to: 'delivered' });
      state.phase = 'delivered';
      deliverRequested = false;
      return await archived({ orderId, result: 'delivered', latePayment: state.latePayment });
    }
  }

  /** The last step of a finished order: it moves to the archive, and the workflow ends with it. */
  async function archived(outcome: OrderOutcome): Promise<OrderOutcome> {
    if (patched(ARCHIVE_PATCH)) {
      await store.archiveOrder({ orderId });
      state.archived = true;
    }
    return outcome;
  }

  async function place(chargeId: string, late: boolean): Promise<void> {
    await store.markPlaced({ orderId, chargeId, late });
    state.phase = 'placed';
    state.payment = 'succeeded';
    await store.removeMirror({ orderId });
  }

  /** Compensation: never cancelled half-way, each step idempotent. */
  async function cancelAndRelease(reason: CancelReason, paymentStatus: OrderState['payment']): Promise<OrderOutcome> {
    canceledView = await CancellationScope.nonCancellable(async () => {
      const view = await store.cancelOrder({ orderId, reason, paymentStatus });
      await store.removeMirror({ orderId });
      return view!;
    });
    state.phase = 'canceled';
    state.cancelReason = reason;
    return { orderId, result: 'canceled', cancelReason: reason, latePayment: state.latePayment };
  }
}

/** An update validator: the order must be in `phase`, with no such request already under way. */
function requirePhase(state: OrderState, phase: OrderState['phase'], verb: string, pending: boolean): void {
  if (state.phase !== phase) throw new Error(`the order is ${state.phase} and cannot be ${verb}`);
  if (pending) throw new Error(`the order is already being ${verb}`);
}
