/**
 * Real-time reports for admins, from the analytics consumer's minute buckets in Redis
 * (analytics/reports.ts): sales per item and per category, top and zero-result queries, the funnel
 * view -> cart -> order, and events per type. Every route needs an admin token (403 for anyone else).
 *
 * The window: `last` minutes up to now, or `from`/`to` (ISO 8601; `to` defaults to now, `from` to an hour
 * before `to`). Whole minutes, both ends included. A window longer than the buckets live
 * (ANALYTICS_BUCKET_TTL) is cut to its newest part; `from` after `to` is an empty window.
 */
import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireRole } from '../auth';
import { z } from '../openapi';
import { route } from '../validate';
import { ReportService, Window } from '../../analytics/reports';

const LINE = /^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$/;
const WindowFields = {
  last: z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, 'minutes: 1 to 999999')
    .transform(Number)
    .optional()
    .openapi({ description: 'the last N minutes up to now (takes precedence over from/to)' }),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'window start (ISO 8601); default: an hour before `to`' }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'window end (ISO 8601); default: now' }),
  limit: z
    .string()
    .regex(/^(100|[1-9][0-9]?)$/, '1 to 100')
    .transform(Number)
    .optional()
    .openapi({ description: 'rows, 1 to 100 (default 10)' }),
};
const ItemIds = z
  .string()
  .max(50 * 51)
  .regex(/^[A-Za-z0-9_.:-]{1,50}(,[A-Za-z0-9_.:-]{1,50}){0,49}$/, 'up to 50 item ids, comma-separated')
  .optional()
  .openapi({ description: 'only these items (comma-separated, up to 50); default: the top `limit` by revenue' });
const Category = z.string().min(1).max(255, { abort: true }).regex(LINE, 'visible characters, no control characters');

const SalesQuery = z.object({ ...WindowFields, item_id: ItemIds }).strict();
const CategorySalesQuery = z
  .object({
    ...WindowFields,
    category: Category.optional().openapi({ description: 'only this category; default: the top `limit` by revenue' }),
  })
  .strict();
const WindowQuery = z.object(WindowFields).strict();
const FunnelQuery = z
  .object({
    ...WindowFields,
    category: Category.optional().openapi({ description: 'only events about items of this category' }),
  })
  .strict();

const WindowOut = z.object({ from: z.string(), to: z.string(), minutes: z.number().int() });
const PerMinute = z.object({ minute: z.string(), units: z.number(), revenue: z.number(), canceled_units: z.number() });
const SalesFields = {
  units: z.number(),
  revenue: z.number(),
  canceled_units: z.number(),
  canceled_value: z.number(),
  per_minute: z.array(PerMinute),
};
const ItemSales = z
  .object({ window: WindowOut, items: z.array(z.object({ item_id: z.string(), ...SalesFields })) })
  .openapi('ItemSalesReport');
const CategorySales = z
  .object({ window: WindowOut, categories: z.array(z.object({ category: z.string(), ...SalesFields })) })
  .openapi('CategorySalesReport');
const Queries = z
  .object({ window: WindowOut, queries: z.array(z.object({ query: z.string(), count: z.number() })) })
  .openapi('QueriesReport');
const Funnel = z
  .object({
    window: WindowOut,
    category: z.string().nullable(),
    stages: z.array(
      z.object({
        stage: z.enum(['view', 'cart', 'wishlist', 'order']),
        events: z.number(),
        users: z.number().openapi({
          description: 'distinct signed-in users (HyperLogLog: exact for small counts, within ~1% for large)',
        }),
      }),
    ),
    conversion: z.object({
      view_to_cart: z.number().nullable(),
      cart_to_order: z.number().nullable(),
      view_to_order: z.number().nullable(),
    }),
  })
  .openapi('FunnelReport');
const Events = z.object({ window: WindowOut, events: z.record(z.string(), z.number()) }).openapi('EventCountsReport');

export function adminReportsRouter(deps: ApiDeps): Router {
  const r = Router();
  const reports = new ReportService(deps.stores.redis, deps.cfg.ANALYTICS_REDIS_PREFIX);
  const maxMinutes = Math.max(1, Math.floor(deps.cfg.ANALYTICS_BUCKET_TTL / 60_000));
  const tags = ['admin reports'];

  function windowOf(q: { last?: number; from?: string; to?: string }): { w: Window; out: z.infer<typeof WindowOut> } {
    const nowMinute = Math.floor(Date.now() / 60_000);
    let toMinute: number;
    let fromMinute: number;
    if (q.last !== undefined) {
      toMinute = nowMinute;
      fromMinute = toMinute - q.last + 1;
    } else {
      toMinute = q.to ? Math.floor(Date.parse(q.to) / 60_000) : nowMinute;
      fromMinute = q.from ? Math.floor(Date.parse(q.from) / 60_000) : toMinute - 59;
    }
    if (toMinute - fromMinute + 1 > maxMinutes) fromMinute = toMinute - maxMinutes + 1;
    const minutes = Math.max(0, toMinute - fromMinute + 1);
    const iso = (m: number) => new Date(Math.max(-8.64e15, Math.min(8.64e15, m * 60_000))).toISOString();
    return { w: { fromMinute, toMinute }, out: { from: iso(fromMinute), to: iso(toMinute + 1), minutes } };
  }
  const admin = (req: Parameters<typeof requireRole>[0]) => requireRole(req, 'admin');
  const common = { tags, auth: true as const, roles: ['admin' as const], method: 'get' as const };

  r.get(
    '/admin/reports/sales/items',
    route(
      deps.registry,
      {
        ...common,
        path: '/admin/reports/sales/items',
        summary: 'Units and revenue per item (placed orders) and canceled units, per minute and in total',
        query: SalesQuery,
        responses: { 200: { description: 'per item, by revenue', schema: ItemSales } },
      },
      async (req, { query }, res) => {
        admin(req);
        const { w, out } = windowOf(query);
        const rows = await reports.sales('item', w, {
          limit: query.limit ?? 10,
          members: query.item_id ? [...new Set(query.item_id.split(','))] : undefined,
        });
        res.json({ window: out, items: rows.map(({ id, ...rest }) => ({ item_id: id, ...rest })) });
      },
    ),
  );
  r.get(
    '/admin/reports/sales/categories',
    route(
      deps.registry,
      {
        ...common,
        path: '/admin/reports/sales/categories',
        summary: 'Units and revenue per category, per minute and in total',
        query: CategorySalesQuery,
        responses: { 200: { description: 'per category, by revenue', schema: CategorySales } },
      },
      async (req, { query }, res) => {
        admin(req);
        const { w, out } = windowOf(query);
        const rows = await reports.sales('category', w, {
          limit: query.limit ?? 10,
          members: query.category !== undefined ? [query.category] : undefined,
        });
        res.json({ window: out, categories: rows.map(({ id, ...rest }) => ({ category: id, ...rest })) });
      },
    ),
  );
  r.get(
    '/admin/reports/queries/top',
    route(
      deps.registry,
      {
        ...common,
        path: '/admin/reports/queries/top',
        summary: 'The most frequent search queries (case and spacing ignored)',
        query: WindowQuery,
        responses: { 200: { description: 'queries by count', schema: Queries } },
      },
      async (req, { query }, res) => {
        admin(req);
        const { w, out } = windowOf(query);
        res.json({ window: out, queries: await reports.topQueries(w, query.limit ?? 10, false) });
      },
    ),
  );
  r.get(
    '/admin/reports/queries/zero-results',
    route(
      deps.registry,
      {
        ...common,
        path: '/admin/reports/queries/zero-results',
        summary: 'The most frequent search queries that found nothing',
        query: WindowQuery,
        responses: { 200: { description: 'queries by count', schema: Queries } },
      },
      async (req, { query }, res) => {
        admin(req);
        const { w, out } = windowOf(query);
        res.json({ window: out, queries: await reports.topQueries(w, query.limit ?? 10, true) });
      },
    ),
  );
  r.get(
    '/admin/reports/funnel',
    route(
      deps.registry,
      {
        ...common,
        path: '/admin/reports/funnel',
        summary: 'The funnel view -> cart -> order: events and distinct users per stage, and conversion between stages',
        query: FunnelQuery,
        responses: { 200: { description: 'the funnel', schema: Funnel } },
      },
      async (req, { query }, res) => {
        admin(req);
        const { w, out } = windowOf(query);
        res.json({ window: out, ...(await reports.funnel(w, query.category)) });
      },
    ),
  );
  r.get(
    '/admin/reports/events',
    route(
      deps.registry,
      {
        ...common,
        path: '/admin/reports/events',
        summary: 'Analytics events counted per type',
        query: WindowQuery,
        responses: { 200: { description: 'counts per event type', schema: Events } },
      },
      async (req, { query }, res) => {
        admin(req);
        const { w, out } = windowOf(query);
        res.json({ window: out, events: await reports.eventCounts(w) });
      },
    ),
  );
  return r;
}
