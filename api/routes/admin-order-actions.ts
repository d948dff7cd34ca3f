/**
 * Operators' actions on one order (issue 15), each the order saga's own update (workflows/order.ts): the saga
 * validates it against where the order is, refuses it with a reason (409 invalid_transition), and records it in
 * the order's status history with who asked. The same updates can be sent from the Temporal Web UI or CLI
 * (`temporal workflow update execute --name forceCancel --input '{"by":"ops@shop"}' -w <order id>`).
 */
import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requirePrincipal, requireRole } from '../auth';
import { z } from '../openapi';
import { IdParams, OrderSchema as Order } from '../schemas';
import { route } from '../validate';

const Note = z
  .string()
  .trim()
  .min(1)
  .max(200, { abort: true })
  .optional()
  .openapi({ description: 'why (kept in the order history)' });
const ForceCancel = z.object({ note: Note }).strict().openapi('ForceCancelRequest');
const ExtendWindow = z
  .object({
    expires_at: z.iso
      .datetime({ offset: true })
      .openapi({ description: 'the new payment deadline: later than the current one, at most 7 days ahead' }),
    note: Note,
  })
  .strict()
  .openapi('ExtendPaymentWindowRequest');
const RetryPayment = z.object({ note: Note }).strict().openapi('RetryPaymentRequest');
const ManualRefund = z
  .object({
    reference: z
      .string()
      .trim()
      .min(1)
      .max(100, { abort: true })
      .openapi({ description: 'where the money went back (a transfer reference, a ticket)' }),
    note: Note,
  })
  .strict()
  .openapi('ManualRefundRequest');

const SagaEvent = z.object({ at: z.string(), event: z.string(), by: z.string() });
const Details = z
  .object({
    orderId: z.string(),
    phase: z.string(),
    waitingFor: z.string(),
    until: z.string().nullable(),
    order: z.record(z.string(), z.unknown()).nullable(),
    payment: z.object({
      status: z.string(),
      method: z.string(),
      amount: z.number().nullable(),
      chargeId: z.string().nullable(),
      expiresAt: z.string(),
      attempts: z.number(),
      inFlight: z.boolean().openapi({ description: 'a charge request is at the gateway now' }),
    }),
    shipments: z.array(z.record(z.string(), z.unknown())),
    needsAttention: z.string().nullable(),
    history: z.array(SagaEvent),
  })
  .openapi('OrderSagaDetails');

const StatusHistory = z
  .object({
    order_id: z.string(),
    status: z.string(),
    payment_status: z.string(),
    archived: z.boolean().openapi({ description: 'read from the archive: the order is finished' }),
    history: z.array(
      z.object({
        status: z.string(),
        reason: z.string().nullable(),
        at: z.string(),
        actor: z.string().nullable().openapi({ description: "who asked (null or `saga`: the saga's own step)" }),
      }),
    ),
  })
  .openapi('OrderStatusHistory');

const tags = ['operators'];
const conflict = { description: 'invalid_transition: the saga refused it (the message says why)' };

/** `admin:<id>`: who asked, as the order's history records it. */
const actor = (req: Parameters<typeof requirePrincipal>[0]) => `admin:${requirePrincipal(req).userId}`;

export function adminOrderActionsRouter(deps: ApiDeps): Router {
  const r = Router();
  const spec = { tags, auth: true, roles: ['admin' as const], params: IdParams };

  r.get(
    '/admin/orders/:id/details',
    route(
      deps.registry,
      {
        ...spec,
        method: 'get',
        path: '/admin/orders/:id/details',
        summary:
          "What the order's saga waits for and until when, its payment and its history (the saga's `details` query)",
        responses: {
          200: { description: 'the details', schema: Details },
          404: { description: 'no such order' },
          409: { description: 'saga_not_found' },
        },
      },
      async (req, { params }, res) => {
        requireRole(req, 'admin');
        res.json(await deps.orders.details(params.id));
      },
    ),
  );
  r.get(
    '/admin/orders/:id/history',
    route(
      deps.registry,
      {
        ...spec,
        method: 'get',
        path: '/admin/orders/:id/history',
        summary: "The order's status history, live or archived: every change, why and who asked",
        responses: {
          200: { description: 'the history, oldest first', schema: StatusHistory },
          404: { description: 'no such order' },
          503: { description: 'the order is not live and the archive cannot answer now' },
        },
      },
      async (req, { params }, res) => {
        requireRole(req, 'admin');
        res.json(await deps.orders.statusHistory(params.id));
      },
    ),
  );
  r.post(
    '/admin/orders/:id/force-cancel',
    route(
      deps.registry,
      {
        ...spec,
        method: 'post',
        path: '/admin/orders/:id/force-cancel',
        summary: 'Cancel an order not yet shipped: stock released, every charge voided or refunded',
        body: ForceCancel,
        responses: {
          200: { description: 'canceled', schema: Order },
          404: { description: 'no such order' },
          409: conflict,
        },
      },
      async (req, { params, body }, res) => {
        requireRole(req, 'admin');
        res.json(await deps.orders.forceCancel(params.id, actor(req), body.note));
      },
    ),
  );
  r.post(
    '/admin/orders/:id/payment-window',
    route(
      deps.registry,
      {
        ...spec,
        method: 'post',
        path: '/admin/orders/:id/payment-window',
        summary: 'Give an order awaiting payment a later deadline',
        body: ExtendWindow,
        responses: {
          200: { description: 'extended', schema: Order },
          404: { description: 'no such order' },
          409: conflict,
        },
      },
      async (req, { params, body }, res) => {
        requireRole(req, 'admin');
        res.json(
          await deps.orders.extendPaymentWindow(
            params.id,
            actor(req),
            new Date(body.expires_at).toISOString(),
            body.note,
          ),
        );
      },
    ),
  );
  r.post(
    '/admin/orders/:id/retry-payment',
    route(
      deps.registry,
      {
        ...spec,
        method: 'post',
        path: '/admin/orders/:id/retry-payment',
        summary: "Ask the gateway again under the order's idempotency key (a lost webhook's cure)",
        body: RetryPayment,
        responses: {
          200: { description: 'asked', schema: Order },
          404: { description: 'no such order' },
          409: conflict,
        },
      },
      async (req, { params, body }, res) => {
        requireRole(req, 'admin');
        res.json(await deps.orders.retryPayment(params.id, actor(req), body.note));
      },
    ),
  );
  r.post(
    '/admin/orders/:id/manual-refund',
    route(
      deps.registry,
      {
        ...spec,
        method: 'post',
        path: '/admin/orders/:id/manual-refund',
        summary:
          'Record money given back outside the gateway, for an order whose refund the gateway refused (NeedsAttention)',
        body: ManualRefund,
        responses: {
          200: { description: 'recorded', schema: Order },
          404: { description: 'no such order' },
          409: conflict,
        },
      },
      async (req, { params, body }, res) => {
        requireRole(req, 'admin');
        res.json(await deps.orders.markManualRefund(params.id, actor(req), body.reference, body.note));
      },
    ),
  );
  return r;
}
