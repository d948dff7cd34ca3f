import express, { Router } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { z } from '../openapi';
import { Id } from '../schemas';
import { registerRoute } from '../validate';
import { SIGNATURE_HEADER, verifySignature } from '../../payments/webhook-signature';
import { toMinor } from '../../payments/gateway';
import { paymentResultSignal } from '../../orders/saga-messages';
import { logger } from '../../lib/logger';
import { isPaidBy, isRefundedAlready, livePaymentFacts } from '../../orders/payment-facts';

const WebhookEvent = z
  .object({
    id: z.string().max(100),
    type: z.enum(['charge.succeeded', 'charge.failed', 'charge.refunded']),
    order_id: Id,
    charge_id: z.string().max(100),
    /** The charge's amount in minor units of `currency`. */
    amount: z.number().int(),
    currency: z.string().length(3),
  })
  .openapi('PaymentWebhookEvent');

/**
 * The payment gateway's webhook. Authenticated by its HMAC signature over the raw body (not a bearer token),
 * then handed to the order's saga as a signal, unless the order is already paid by that very charge. A success
 * for an order whose saga has closed is refunded by a workflow of its own, once.
 */
export function paymentsRouter(deps: ApiDeps): Router {
  const r = Router();
  registerRoute(deps.registry, {
    method: 'post',
    path: '/payments/webhook',
    summary: `Gateway webhook (signed: ${SIGNATURE_HEADER} header)`,
    tags: ['payments'],
    body: WebhookEvent,
    responses: {
      200: { description: 'accepted' },
      400: { description: 'invalid event, or amount_mismatch' },
      401: { description: 'bad signature' },
    },
  });
  r.post('/payments/webhook', express.raw({ type: '*/*', limit: '64kb' }), async (req, res, next) => {
    try {
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      if (!verifySignature(deps.cfg.PAYMENT_WEBHOOK_SECRET, raw, req.header(SIGNATURE_HEADER))) {
        throw new ApiError(401, 'invalid_signature', 'the webhook signature does not match');
      }
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new ApiError(400, 'invalid_json', 'the webhook body is not valid JSON');
      }
      const parsed = WebhookEvent.safeParse(json);
      if (!parsed.success) throw new ApiError(400, 'invalid_request', 'unexpected webhook event', parsed.error.issues);
      const ev = parsed.data;
      // A refund is the saga's own doing (it asked for it): acknowledged, nothing more for now.
      if (ev.type === 'charge.refunded') return void res.json({ received: true });
      if (ev.type === 'charge.succeeded') {
        // A live order's total and payment (an archived order is left to the usual path).
        const live = await livePaymentFacts(deps.stores.mysql, ev.order_id);
        if (live) checkAmount(deps, ev, live.totalPrice);
        // The saga placed the order with this very charge (the gateway's webhook usually comes after the charge's
        // own answer): the saga would ignore the signal, and each signal costs it a workflow task.
        if (live && live.chargeId === ev.charge_id && isPaidBy(live, ev.charge_id))
          return void res.json({ received: true });
      }
      const status = ev.type === 'charge.succeeded' ? 'succeeded' : 'declined';
      try {
        await deps.stores.temporal.workflow
          .getHandle(ev.order_id)
          .signal(paymentResultSignal, { status, chargeId: ev.charge_id });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // A decline for an order whose saga has closed changes nothing (the saga learnt it from the charge's
        // answer): acknowledged, so the gateway stops retrying it.
        if (status !== 'succeeded') return void res.json({ received: true });
        await handleClosedSaga(deps, ev.order_id, ev.charge_id, status);
      }
      res.json({ received: true });
    } catch (err) {
      next(err);
    }
  });
  return r;
}

/** A success for another sum than the order's total must not place the order (a tampered or mixed-up
 * event): 400, logged. */
function checkAmount(
  deps: ApiDeps,
  ev: { order_id: string; charge_id: string; amount: number; currency: string },
  totalPrice: number,
): void {
  const expected = toMinor(totalPrice);
  const currency = deps.cfg.PAYMENT_CURRENCY;
  if (ev.amount !== expected || ev.currency.toUpperCase() !== currency) {
    logger.error(
      {
        orderId: ev.order_id,
        chargeId: ev.charge_id,
        amount: ev.amount,
        currency: ev.currency,
        expected,
        expectedCurrency: currency,
      },
      'payment webhook amount does not match the order total',
    );
    throw new ApiError(
      400,
      'amount_mismatch',
      `the charge is ${ev.amount} ${ev.currency}, the order's total is ${expected} ${currency}`,
    );
  }
}

/**
 * A gateway's word for an order whose saga has closed. Only a success matters: unless it is the charge that paid
 * for the order (a redelivery), the money goes back, by a workflow of its own keyed by the charge, started
 * durably before the gateway is answered 200. The order is looked up wherever it lives (MySQL, then the
 * archive); a success for an order that is nowhere is refunded too.
 */
async function handleClosedSaga(
  deps: ApiDeps,
  orderId: string,
  chargeId: string,
  status: 'succeeded' | 'declined',
): Promise<void> {
  if (status !== 'succeeded') return;
  const order = await deps.orders.paymentFacts(orderId);
  if (isPaidBy(order, chargeId)) return; // a redelivery of the success that placed it
  if (isRefundedAlready(order, chargeId)) return; // a redelivery for a charge an operator refunded by hand
  logger.warn(
    { orderId, chargeId, status: order?.status ?? 'unknown' },
    'payment succeeded after the order closed: refunding',
  );
  await deps.stores.temporal.workflow
    .start('latePaymentWorkflow', {
      workflowId: `late-payment-${chargeId}`,
      taskQueue: deps.cfg.TEMPORAL_TASK_QUEUE,
      args: [{ orderId, chargeId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    })
    .catch((err: Error) => {
      if (err.name !== 'WorkflowExecutionAlreadyStartedError') throw err;
    });
}
