import { Router, Request, RequestHandler } from 'express';
import type { Knex } from 'knex';
import type { ApiDeps } from '../deps';
import { bearerToken, mayActFor, requirePrincipal, requireSelfOrAdmin } from '../auth';
import { ApiError, conflict, errorBody, forbidden, notFound } from '../errors';
import { quietAccessLog } from '../access-log';
import { z } from '../openapi';
import { Id, IdempotencyHeaders, IdempotencyKey, IdParams, OrderSchema as Order, UserIdParams } from '../schemas';
import { orderPlacementLimit } from '../rate-limits';
import { route } from '../validate';
import { PAYMENT_METHODS, type OrderView } from '../../orders/model';
import { findUserById } from '../../users/repository';
import { AddressChoice, resolveShippingAddress } from '../address';
import { sellersOf } from '../../orders/shipment-records';
import type { Shortage } from '../../orders/model';

const OrderLine = z.object({ item_id: Id, quantity: z.number().int().min(1).max(1000) }).strict();
const PlaceOrder = z
  .object({
    user_id: Id,
    items: z.array(OrderLine).min(1).max(100),
    payment_method: z.enum(PAYMENT_METHODS).default('pm_card_visa'),
    ...AddressChoice,
  })
  .strict()
  .openapi('PlaceOrderRequest', { description: 'shipping_address or address_id is required (exactly one)' });

const UserOrdersQuery = z
  .object({
    status: z.enum(['created', 'placed', 'in_transit', 'delivered', 'canceled']).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .max(200, { abort: true })
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional(),
  })
  .strict();
const OrdersPage = z
  .object({
    orders: z.array(Order),
    next_cursor: z.string().nullable(),
    history_unavailable: z
      .literal(true)
      .optional()
      .openapi({ description: 'the archive did not answer: live orders only, retry later for the rest' }),
  })
  .openapi('OrdersPage');

const OUT_OF_STOCK = 'some items do not have enough stock';

declare module 'express-serve-static-core' {
  interface Request {
    /** answerKnownSoldOut asked the sold-out gate for this order's lines and it knew of no shortage. */
    soldOutGatePassed?: boolean;
  }
}

/** 409 out_of_stock: details.items names the short lines (and details.order_id the refused order's id, if any). */
function outOfStock(shortages: Shortage[], orderId?: string | null): ApiError {
  return new ApiError(409, 'out_of_stock', OUT_OF_STOCK, {
    ...(orderId ? { order_id: orderId } : {}),
    items: shortages,
  });
}

/**
 * An order for an item Redis already knows to be sold out gets its 409 here, before the account's auth-state
 * read, the rate limit, the routers and load shedding (api/load-shedding.ts): in a flash sale most buyers are
 * those, and they must get the true answer, not a 503 that invites a retry, at the lowest cost. The service checks
 * the same gate first (orders/service.ts), so the answer is the one the full route would give. Only for a valid
 * body and a signed token of the buyer it names (or an admin); never for a request with an Idempotency-Key (it
 * may be the retry of an order that got the last unit). A revoked account or a rate-limited buyer learns only
 * that the item is sold out, which GET /items shows anyone.
 */
export function answerKnownSoldOut(deps: ApiDeps): RequestHandler {
  /** The lines the gate knows to be short, when this request may be answered here. */
  const soldOut = async (req: Request): Promise<Shortage[] | undefined> => {
    if (req.header('idempotency-key') !== undefined) return undefined;
    const token = bearerToken(req.headers.authorization);
    const principal = token === undefined ? undefined : deps.tokens.verify(token);
    if (!principal) return undefined;
    const body = PlaceOrder.safeParse(req.body);
    if (!body.success) return undefined;
    if (!mayActFor(principal, body.data.user_id)) return undefined; // the route answers its 403
    const short = await deps.orders.knownShortages(body.data.items);
    if (short.length === 0) {
      req.soldOutGatePassed = true; // the route's service call need not ask Redis the same again
      return undefined;
    }
    deps.metrics.orders.inc({ outcome: 'out_of_stock' });
    deps.metrics.stockRefusals.inc({ route: 'orders' });
    return short;
  };
  // The 409 is sent here, not thrown: an error would walk every router to the last handler, and an Error records
  // its stack. It is logged at debug: a sale's losers are thousands of expected answers, counted by the metrics.
  return (req, res, next) => {
    soldOut(req).then((short) => {
      if (!short) return next();
      quietAccessLog(res);
      res.status(409).json(errorBody('out_of_stock', OUT_OF_STOCK, { items: short }));
    }, next);
  };
}

/** The order, if the caller may see it: its buyer, an admin, or a supplier of one of its items. */
async function visibleOrder(deps: ApiDeps, req: Request, orderId: string): Promise<OrderView> {
  const p = requirePrincipal(req);
  const order = await deps.orders.get(orderId);
  if (p.role === 'admin' || p.userId === order.user_id) return order;
  if (p.role === 'supplier' && (await suppliedShare(deps.stores.mysql, p.userId, order)) > 0) return order;
  throw notFound(`order ${orderId}`); // not 403: do not reveal that someone else's order exists
}

/** How many of the order's lines this supplier supplies. */
async function suppliedShare(mysql: Knex, supplierId: string, order: OrderView): Promise<number> {
  const rows = await mysql('items')
    .select('item_id')
    .where({ supplier_id: supplierId })
    .whereIn(
      'item_id',
      order.items.map((i) => i.item_id),
    );
  return rows.length / Math.max(1, order.items.length);
}

/** A finished order (delivered, canceled: archived) moves no further. */
function requireLive(order: OrderView, verb: string): void {
  if (order.status === 'delivered' || order.status === 'canceled')
    throw conflict('invalid_transition', `the order is ${order.status} and cannot be ${verb}`, {
      status: order.status,
    });
}

/** The seller whose lines a ship or deliver moves: a seller's own; an admin names one (or the order's only one). */
async function sellerFor(mysql: Knex, req: Request, orderId: string, named: string | undefined): Promise<string> {
  const p = requirePrincipal(req);
  const sellers = await sellersOf(mysql, orderId);
  if (p.role === 'supplier') {
    if (!sellers.includes(p.userId)) throw forbidden("only an admin or a seller of the order's items may do this");
    if (named !== undefined && named !== p.userId) throw forbidden('a seller ships and delivers its own lines only');
    return p.userId;
  }
  if (p.role !== 'admin') throw forbidden("only an admin or a seller of the order's items may do this");
  if (named !== undefined) {
    if (!sellers.includes(named))
      throw new ApiError(400, 'invalid_request', `the order holds no items of seller ${named}`);
    return named;
  }
  if (sellers.length !== 1)
    throw new ApiError(400, 'invalid_request', `the order has ${sellers.length} sellers: name one as supplier_id`);
  return sellers[0]!;
}

const carrierText = z
  .string()
  .trim()
  .min(1)
  .max(100, { abort: true })
  .regex(/^[\x20-\x7e]+$/, 'printable ASCII');
const ShipRequest = z
  .object({
    carrier: carrierText.openapi({ example: 'UPS' }),
    tracking_number: carrierText.openapi({ example: '1Z999AA10123456784' }),
    supplier_id: Id.optional().openapi({
      description: 'admins: whose lines (required when the order has several sellers)',
    }),
  })
  .strict()
  .openapi('ShipRequest');
const DeliverRequest = z
  .object({
    supplier_id: Id.optional().openapi({
      description: 'admins: whose shipment (required when the order has several sellers)',
    }),
  })
  .strict()
  .openapi('DeliverRequest');

export function ordersRouter(deps: ApiDeps): Router {
  const r = Router();
  placeOrderRoute(r, deps);
  buyerRoutes(r, deps);
  fulfilmentRoutes(r, deps);
  return r;
}

/** POST /orders: reserve, then the saga. */
function placeOrderRoute(r: Router, deps: ApiDeps): void {
  const { mysql } = deps.stores;
  const placeLimit = orderPlacementLimit(deps.cfg, deps.stores.redis);
  r.post(
    '/orders',
    (req, _res, next) =>
      req.principal ? next() : next(new ApiError(401, 'unauthorized', 'a valid bearer token is required')),
    placeLimit,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/orders',
        summary: 'Place an order: reserves the stock and starts the payment saga',
        tags: ['orders'],
        auth: true,
        body: PlaceOrder,
        headers: IdempotencyHeaders,
        responses: {
          201: { description: 'stock reserved; the order waits for its payment until expires_at', schema: Order },
          200: { description: 'the same Idempotency-Key and body again: the same order', schema: Order },
          404: { description: "unknown item or user; address_not_found (address_id is not one of the buyer's)" },
          409: {
            description:
              'out_of_stock (details.items names the short lines); item_unlisted (details.item_ids: delisted items)',
          },
          422: { description: 'the Idempotency-Key was used with another body' },
          429: { description: 'too many orders' },
          503: { description: 'the reservation could not be made now' },
        },
      },
      async (req, { body }, res) => {
        requireSelfOrAdmin(req, body.user_id);
        const key = req.header('idempotency-key');
        if (key !== undefined && !IdempotencyKey.safeParse(key).success) {
          throw new ApiError(
            400,
            'invalid_request',
            'Idempotency-Key must be 1 to 255 printable ASCII characters, no spaces at either end',
          );
        }
        // An admin ordering for someone names a user that must exist; a buyer's own token names an account
        // that does (and the orders.user_id foreign key refuses any other, as a 404).
        if (body.user_id !== requirePrincipal(req).userId && !(await findUserById(mysql, body.user_id)))
          throw notFound(`user ${body.user_id}`);
        const shippingAddress = await resolveShippingAddress(mysql, body.user_id, body);
        const result = await deps.orders.place({
          userId: body.user_id,
          lines: body.items,
          paymentMethod: body.payment_method,
          idempotencyKey: key,
          shippingAddress,
          exemptFromLimits: requirePrincipal(req).role === 'admin',
          soldOutGatePassed: req.soldOutGatePassed === true,
        });
        deps.metrics.orders.inc({ outcome: result.kind });
        if (result.kind === 'out_of_stock') {
          deps.metrics.stockRefusals.inc({ route: 'orders' });
          throw outOfStock(result.shortages, result.orderId);
        }
        if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
        res.status(result.replayed ? 200 : 201).json(result.order);
      },
    ),
  );
}

/** An order, a user's orders, and the buyer's cancel. */
function buyerRoutes(r: Router, deps: ApiDeps): void {
  r.get(
    '/orders/:id',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/orders/:id',
        summary: 'An order, wherever it is in its life',
        tags: ['orders'],
        auth: true,
        params: IdParams,
        responses: {
          200: { description: 'the order', schema: Order },
          404: { description: 'no such order (or not yours)' },
        },
      },
      async (req, { params }, res) => {
        res.json(await visibleOrder(deps, req, params.id));
      },
    ),
  );

  r.post(
    '/orders/:id/cancel',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/orders/:id/cancel',
        summary: 'Cancel before shipping: stock released, payment refunded',
        tags: ['orders'],
        auth: true,
        params: IdParams,
        responses: {
          200: { description: 'canceled', schema: Order },
          404: { description: 'no such order' },
          409: { description: 'no longer cancelable' },
        },
      },
      async (req, { params }, res) => {
        const order = await visibleOrder(deps, req, params.id);
        const p = requirePrincipal(req);
        if (p.role !== 'admin' && p.userId !== order.user_id)
          throw forbidden('only the buyer or an admin may cancel an order');
        res.json(
          await deps.orders.cancel(params.id, p.role === 'admin' ? `admin:${p.userId}` : `customer:${p.userId}`),
        );
      },
    ),
  );

  r.get(
    '/users/:id/orders',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/:id/orders',
        summary: "A user's orders, live and archived, newest first",
        tags: ['orders'],
        auth: true,
        selfParam: 'id',
        params: UserIdParams,
        query: UserOrdersQuery,
        responses: { 200: { description: 'a page of orders', schema: OrdersPage } },
      },
      async (req, { params, query }, res) => {
        requireSelfOrAdmin(req, params.id);
        res.json(await deps.orders.listForUser(params.id, query));
      },
    ),
  );
}

/** A seller's lines ship, then arrive. */
function fulfilmentRoutes(r: Router, deps: ApiDeps): void {
  r.post(
    '/orders/:id/ship',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/orders/:id/ship',
        summary:
          'A seller ships its own lines of the order (an admin names supplier_id); the order is in_transit once the first shipment left',
        tags: ['fulfilment'],
        auth: true,
        params: IdParams,
        body: ShipRequest,
        responses: {
          200: { description: 'shipped', schema: Order },
          404: { description: 'no such order' },
          409: { description: 'not possible from its status, or shipped already with another tracking number' },
        },
      },
      async (req, { params, body }, res) => {
        requireLive(await visibleOrder(deps, req, params.id), 'shipped');
        const supplierId = await sellerFor(deps.stores.mysql, req, params.id, body.supplier_id);
        res.json(
          await deps.orders.ship(params.id, {
            supplierId,
            carrier: body.carrier,
            trackingNumber: body.tracking_number,
            by: `${requirePrincipal(req).role}:${requirePrincipal(req).userId}`,
          }),
        );
      },
    ),
  );
  r.post(
    '/orders/:id/deliver',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/orders/:id/deliver',
        summary:
          "A seller's shipment arrived (an admin names supplier_id); the order is delivered once every seller's shipment is",
        tags: ['fulfilment'],
        auth: true,
        params: IdParams,
        body: DeliverRequest.optional(),
        responses: {
          200: { description: 'delivered', schema: Order },
          404: { description: 'no such order' },
          409: { description: 'not shipped yet, or not possible from its status' },
        },
      },
      async (req, { params, body }, res) => {
        requireLive(await visibleOrder(deps, req, params.id), 'delivered');
        const supplierId = await sellerFor(deps.stores.mysql, req, params.id, body?.supplier_id);
        res.json(
          await deps.orders.deliver(params.id, {
            supplierId,
            by: `${requirePrincipal(req).role}:${requirePrincipal(req).userId}`,
          }),
        );
      },
    ),
  );
}
