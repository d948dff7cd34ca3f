import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireRole, requireSelfOrAdmin } from '../auth';
import { badRequest, notFound } from '../errors';
import { z } from '../openapi';
import { Id } from '../schemas';
import { route } from '../validate';
import { findUserById } from '../../users/repository';
import { decodeCursor, NotificationRepository } from '../../notifications/repository';

const Notification = z
  .object({
    notification_id: z.string(),
    user_id: z.string(),
    audience: z.enum(['customer', 'seller', 'direct']).openapi({
      description:
        'customer: a change of their order; seller: a new order of their items; direct: sent through POST /notifications',
    }),
    type: z.string().openapi({ example: 'order_placed' }),
    message: z.string(),
    order_id: z.string().nullable(),
    delivery_status: z.enum(['pending', 'sent', 'failed']),
    channel: z
      .string()
      .nullable()
      .openapi({ description: 'the channel that delivered it (email, webhook, none), once tried' }),
    attempts: z.number().int(),
    created_at: z.string(),
    sent_at: z.string().nullable(),
    read_at: z.string().nullable(),
  })
  .openapi('Notification');
const NotificationsPage = z
  .object({ notifications: z.array(Notification), next_cursor: z.string().nullable() })
  .openapi('NotificationsPage');

const SendNotification = z
  .object({
    user_id: Id,
    type: z
      .string()
      .min(1)
      .max(50, { abort: true })
      .regex(/^[a-z][a-z0-9_]*$/, 'lower snake_case, such as order_placed'),
    message: z.string().trim().min(1).max(1000),
  })
  .strict()
  .openapi('SendNotificationRequest', {
    example: { user_id: 'u123', type: 'order_placed', message: 'Your order has been placed successfully.' },
  });

const UserParams = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) }).strict();
const ReadParams = z
  .object({
    id: Id.openapi({ param: { name: 'id', in: 'path' } }),
    nid: Id.openapi({ param: { name: 'nid', in: 'path' } }),
  })
  .strict();
const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .max(100, { abort: true })
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional(),
    unread: z.enum(['true', 'false']).optional().openapi({ description: 'true: only unread; false: only read' }),
  })
  .strict();

/** Notifications: a user's own list (or anyone's for an admin), marking one read, and direct sends (admin). */
export function notificationsRouter(deps: ApiDeps): Router {
  const r = Router();
  const repo = new NotificationRepository(deps.stores.mysql);

  r.get(
    '/users/:id/notifications',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/:id/notifications',
        summary: "A user's notifications, newest first (yourself, or anyone for an admin)",
        tags: ['notifications'],
        auth: true,
        selfParam: 'id',
        params: UserParams,
        query: ListQuery,
        responses: {
          200: { description: 'a page of notifications; next_cursor fetches the next', schema: NotificationsPage },
          404: { description: 'no such user' },
        },
      },
      async (req, { params, query }, res) => {
        requireSelfOrAdmin(req, params.id);
        const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
        if (query.cursor !== undefined && after === undefined)
          throw badRequest('invalid query', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
        if (!(await findUserById(deps.stores.mysql, params.id))) throw notFound(`user ${params.id}`);
        res.json(
          await repo.listForUser(params.id, {
            limit: query.limit,
            after,
            unread: query.unread === undefined ? undefined : query.unread === 'true',
          }),
        );
      },
    ),
  );

  r.post(
    '/users/:id/notifications/:nid/read',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/users/:id/notifications/:nid/read',
        summary: 'Mark a notification read',
        tags: ['notifications'],
        auth: true,
        selfParam: 'id',
        params: ReadParams,
        responses: {
          200: { description: 'the notification, read', schema: Notification },
          404: { description: 'no such notification for this user' },
        },
      },
      async (req, { params }, res) => {
        requireSelfOrAdmin(req, params.id);
        const n = await repo.markRead(params.id, params.nid);
        if (!n) throw notFound(`notification ${params.nid}`);
        res.json(n);
      },
    ),
  );

  r.post(
    '/notifications',
    // Only admins (and internal services, which call with an admin token) send notifications directly: said
    // before the body is looked at, so a customer learns nothing from validation errors.
    (req, _res, next) => {
      try {
        requireRole(req, 'admin');
        next();
      } catch (err) {
        next(err);
      }
    },
    route(
      deps.registry,
      {
        method: 'post',
        path: '/notifications',
        summary: "Send a notification to a user (admin or internal callers); delivered through the notifier's channel",
        tags: ['notifications'],
        auth: true,
        roles: ['admin'],
        body: SendNotification,
        responses: {
          201: { description: 'stored, delivery pending', schema: Notification },
          404: { description: 'no such user' },
        },
      },
      async (_req, { body }, res) => {
        if (!(await findUserById(deps.stores.mysql, body.user_id))) throw notFound(`user ${body.user_id}`);
        const n = await repo.create({ user_id: body.user_id, type: body.type, message: body.message, order_id: null });
        res.status(201).json(n);
      },
    ),
  );
  return r;
}
