/** Admins list archived orders by status and day: GET /admin/orders (Cassandra orders_by_status_day). */
import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireRole } from '../auth';
import { ApiError } from '../errors';
import { z } from '../openapi';
import { route } from '../validate';
import { OrderArchive } from '../../orders/archive';
import { archiveUnavailable } from '../../orders/history-unavailable';
import { decodeCursor, encodeCursor } from '../../orders/orders-view';

const Query = z
  .object({
    status: z
      .enum(['delivered', 'canceled'])
      .openapi({ description: 'archived orders are finished: delivered or canceled' }),
    day: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
      .refine(
        (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
        'a calendar day',
      )
      .openapi({ description: 'the day the order was created (UTC)', example: '2026-12-04' }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z
      .string()
      .max(200, { abort: true })
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional(),
  })
  .strict();
const Row = z
  .object({
    order_id: z.string(),
    user_id: z.string(),
    status: z.string(),
    total_price: z.number(),
    created_at: z.string(),
  })
  .openapi('ArchivedOrderSummary');
const Page = z.object({ orders: z.array(Row), next_cursor: z.string().nullable() }).openapi('ArchivedOrdersPage');

export function adminOrdersRouter(deps: ApiDeps): Router {
  const r = Router();
  const archive = new OrderArchive(deps.stores.cassandra, deps.stores.mysql);
  r.get(
    '/admin/orders',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/admin/orders',
        summary:
          'Archived orders by status and creation day (UTC), newest first (admins; GET /orders/{id} has the whole order)',
        tags: ['orders'],
        auth: true,
        roles: ['admin'],
        query: Query,
        responses: {
          200: { description: 'a page of archived orders', schema: Page },
          503: { description: 'history_unavailable: the archive (Cassandra) does not answer; retry after Retry-After' },
        },
      },
      async (req, { query }, res) => {
        requireRole(req, 'admin');
        try {
          const page = await archive.pageByStatusDay(query.status, query.day, {
            before: query.cursor ? decodeCursor(query.cursor) : undefined,
            limit: query.limit,
          });
          const last = page.orders.at(-1);
          res.json({
            orders: page.orders,
            next_cursor: page.more && last ? encodeCursor({ at: new Date(last.created_at), id: last.order_id }) : null,
          });
        } catch (err) {
          if (!archiveUnavailable(err)) throw err;
          res.setHeader('Retry-After', '5');
          throw new ApiError(503, 'history_unavailable', 'the order archive does not answer now');
        }
      },
    ),
  );
  return r;
}
