/**
 * Wishlist and cart (the seed's four routes, plus removing a line and changing a quantity) and checkout
 * from the cart through the order saga. Every route is the owner's or an admin's.
 */
import type { Knex } from 'knex';
import { Router, Request } from 'express';
import type { ApiDeps } from '../deps';
import { requireSelfOrAdmin } from '../auth';
import { ApiError, notFound } from '../errors';
import { z } from '../openapi';
import { Id, IdempotencyHeaders, IdempotencyKey, OrderSchema } from '../schemas';
import { orderPlacementLimit } from '../rate-limits';
import { route } from '../validate';
import { CartService } from '../../carts/service';
import { MAX_CART_LINES, MAX_LINE_QUANTITY } from '../../carts/model';
import { findUserById } from '../../users/repository';
import { loadOrder } from '../../orders/repository';
import { PAYMENT_METHODS, OrderView } from '../../orders/model';
import { recordItemEvent } from '../../analytics/publish';
import { AddressChoice, resolveShippingAddress } from '../address';

const pathId = (name: string) => Id.openapi({ param: { name, in: 'path' } });
const UserParams = z.object({ id: pathId('id') }).strict();
const LineParams = z.object({ id: pathId('id'), item_id: pathId('item_id') }).strict();

const Quantity = z.number().int().min(1).max(MAX_LINE_QUANTITY);
const AddToCart = z
  .object({ item_id: Id, quantity: Quantity.default(1) })
  .strict()
  .openapi('AddToCartRequest');
const SetQuantity = z.object({ quantity: Quantity }).strict().openapi('SetQuantityRequest');
const AddToWishlist = z.object({ item_id: Id }).strict().openapi('AddToWishlistRequest');
const Checkout = z
  .object({ payment_method: z.enum(PAYMENT_METHODS).default('pm_card_visa'), ...AddressChoice })
  .strict()
  .openapi('CheckoutRequest', { description: 'shipping_address or address_id is required (exactly one)' });

const CartLine = z
  .object({
    item_id: z.string(),
    name: z
      .string()
      .nullable()
      .openapi({ description: "the catalog's current name (null if the item left the catalog)" }),
    price: z.number().nullable().openapi({ description: "the catalog's current price" }),
    quantity: z.number().int(),
    stock: z.number().int(),
    available: z
      .boolean()
      .openapi({ description: 'false when the stock does not cover the quantity: the line is kept, flagged' }),
    line_total: z.number().nullable(),
    added_at: z.string(),
  })
  .openapi('CartLine');
const Cart = z.array(CartLine).openapi('Cart');
const WishlistLine = z
  .object({
    item_id: z.string(),
    name: z.string().nullable(),
    price: z.number().nullable(),
    stock: z.number().int(),
    available: z.boolean(),
    added_at: z.string(),
  })
  .openapi('WishlistLine');
const Wishlist = z.array(WishlistLine).openapi('Wishlist');
/** The order as POST /orders answers it. */
const CheckoutOrder = OrderSchema;

const tags = ['cart and wishlist'];
const unknown = { description: 'unknown user, unknown item (`item_not_found`), or the item is not in the list' };
const busy = { description: 'another change to the same list is in progress; retry' };

/** The owner or an admin; for an admin, the user must exist. */
async function owner(mysql: Knex, req: Request, userId: string): Promise<string> {
  const p = requireSelfOrAdmin(req, userId);
  if (p.userId !== userId && !(await findUserById(mysql, userId))) throw notFound(`user ${userId}`);
  return userId;
}

/** The order an Idempotency-Key already made for this user, if it made one (the orders module's key table). */
async function orderForKey(mysql: Knex, userId: string, key: string): Promise<OrderView | undefined> {
  const row: { order_id: string } | undefined = await mysql('idempotency_keys')
    .select('order_id')
    .where({ user_id: userId, idem_key: key })
    .first();
  return (row && (await loadOrder(mysql, row.order_id))) || undefined;
}

export function cartsRouter(deps: ApiDeps): Router {
  const r = Router();
  const { mysql, mongo, redis } = deps.stores;
  const carts = new CartService(mongo.db(), mysql, redis);
  wishlistRoutes(r, deps, carts);
  cartRoutes(r, deps, carts);
  checkoutRoute(r, deps, carts);
  return r;
}

function wishlistRoutes(r: Router, deps: ApiDeps, carts: CartService): void {
  // ---- wishlist ----
  r.get(
    '/users/:id/wishlist',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/:id/wishlist',
        summary: 'The wishlist, with current names and prices',
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        responses: { 200: { description: 'the wishlist', schema: Wishlist }, 404: unknown },
      },
      async (req, { params }, res) => {
        res.json(await carts.getWishlist(await owner(deps.stores.mysql, req, params.id)));
      },
    ),
  );
  r.post(
    '/users/:id/wishlist',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/users/:id/wishlist',
        summary: 'Add an item to the wishlist (adding it again changes nothing)',
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        body: AddToWishlist,
        responses: {
          201: { description: 'added; the wishlist', schema: Wishlist },
          200: { description: 'it was there already; the wishlist', schema: Wishlist },
          404: unknown,
          409: { description: '`limit_reached`: the wishlist is full' },
          503: busy,
        },
      },
      async (req, { params, body }, res) => {
        const added = await carts.addToWishlist(await owner(deps.stores.mysql, req, params.id), body.item_id);
        if (added) await recordItemEvent(deps.stores.mysql, 'wishlist_add', params.id, body.item_id);
        res.status(added ? 201 : 200).json(await carts.getWishlist(params.id));
      },
    ),
  );
  r.delete(
    '/users/:id/wishlist/:item_id',
    route(
      deps.registry,
      {
        method: 'delete',
        path: '/users/:id/wishlist/:item_id',
        summary: 'Remove an item from the wishlist',
        tags,
        auth: true,
        selfParam: 'id',
        params: LineParams,
        responses: { 200: { description: 'removed; the wishlist', schema: Wishlist }, 404: unknown, 503: busy },
      },
      async (req, { params }, res) => {
        await carts.removeFromWishlist(await owner(deps.stores.mysql, req, params.id), params.item_id);
        res.json(await carts.getWishlist(params.id));
      },
    ),
  );
}

function cartRoutes(r: Router, deps: ApiDeps, carts: CartService): void {
  // ---- cart ----
  r.get(
    '/users/:id/cart',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/:id/cart',
        summary: 'The cart: current names and prices; lines the stock no longer covers are flagged `available: false`',
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        responses: { 200: { description: 'the cart', schema: Cart }, 404: unknown },
      },
      async (req, { params }, res) => {
        res.json(await carts.getCart(await owner(deps.stores.mysql, req, params.id)));
      },
    ),
  );
  r.post(
    '/users/:id/cart',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/users/:id/cart',
        summary: `Add an item to the cart (adds to the quantity of a line already there; at most ${MAX_CART_LINES} lines of ${MAX_LINE_QUANTITY})`,
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        body: AddToCart,
        responses: {
          201: { description: 'added; the cart', schema: Cart },
          404: unknown,
          409: { description: '`limit_reached`: too many lines or units' },
          503: busy,
        },
      },
      async (req, { params, body }, res) => {
        const cart = await carts.addToCart(await owner(deps.stores.mysql, req, params.id), body.item_id, body.quantity);
        await recordItemEvent(deps.stores.mysql, 'cart_add', params.id, body.item_id, { quantity: body.quantity });
        res.status(201).json(cart);
      },
    ),
  );
  r.put(
    '/users/:id/cart/:item_id',
    route(
      deps.registry,
      {
        method: 'put',
        path: '/users/:id/cart/:item_id',
        summary: "Change a cart line's quantity",
        tags,
        auth: true,
        selfParam: 'id',
        params: LineParams,
        body: SetQuantity,
        responses: { 200: { description: 'changed; the cart', schema: Cart }, 404: unknown, 503: busy },
      },
      async (req, { params, body }, res) => {
        res.json(
          await carts.setQuantity(await owner(deps.stores.mysql, req, params.id), params.item_id, body.quantity),
        );
      },
    ),
  );
  r.delete(
    '/users/:id/cart/:item_id',
    route(
      deps.registry,
      {
        method: 'delete',
        path: '/users/:id/cart/:item_id',
        summary: 'Remove a line from the cart',
        tags,
        auth: true,
        selfParam: 'id',
        params: LineParams,
        responses: { 200: { description: 'removed; the cart', schema: Cart }, 404: unknown, 503: busy },
      },
      async (req, { params }, res) => {
        res.json(await carts.removeFromCart(await owner(deps.stores.mysql, req, params.id), params.item_id));
      },
    ),
  );
}

/** The whole cart through the order saga (POST /orders' rules: limits, idempotency, the sold-out gate). */
function checkoutRoute(r: Router, deps: ApiDeps, carts: CartService): void {
  const checkoutLimit = orderPlacementLimit(deps.cfg, deps.stores.redis);
  r.post(
    '/users/:id/cart/checkout',
    (req, _res, next) =>
      req.principal ? next() : next(new ApiError(401, 'unauthorized', 'a valid bearer token is required')),
    checkoutLimit,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/users/:id/cart/checkout',
        summary: 'Order the whole cart through the order saga; the cart is emptied only when the order is created',
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        body: Checkout,
        headers: IdempotencyHeaders,
        responses: {
          201: {
            description: 'stock reserved; the order waits for its payment until expires_at; the cart is emptied',
            schema: CheckoutOrder,
          },
          200: { description: 'the same Idempotency-Key again: the same order', schema: CheckoutOrder },
          404: unknown,
          409: {
            description:
              '`out_of_stock` (details.items names the short lines; the cart stays), `cart_empty`, or `checkout_in_progress`',
          },
          422: { description: 'the Idempotency-Key was used with another cart' },
          429: { description: 'too many orders' },
          503: { description: 'the reservation could not be made now (the cart stays)' },
        },
      },
      async (req, { params, body }, res) => {
        const userId = await owner(deps.stores.mysql, req, params.id);
        const key = req.header('idempotency-key');
        if (key !== undefined && !IdempotencyKey.safeParse(key).success) {
          throw new ApiError(400, 'invalid_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
        }
        await carts.withCheckout(userId, async () => {
          // The same key again after the order was made (the cart is empty by now): the same order.
          const earlier = key ? await orderForKey(deps.stores.mysql, userId, key) : undefined;
          if (earlier) {
            res.setHeader('Idempotent-Replayed', 'true');
            res.status(200).json(earlier);
            return;
          }
          const lines = (await carts.cartLines(userId)).map((l) => ({ item_id: l.item_id, quantity: l.quantity }));
          if (lines.length === 0) throw new ApiError(409, 'cart_empty', 'the cart is empty');
          const shippingAddress = await resolveShippingAddress(deps.stores.mysql, userId, body);
          const result = await deps.orders.place({
            userId,
            lines,
            paymentMethod: body.payment_method,
            idempotencyKey: key,
            shippingAddress,
            exemptFromLimits: req.principal?.role === 'admin',
          });
          deps.metrics.orders.inc({ outcome: result.kind });
          if (result.kind === 'out_of_stock') {
            deps.metrics.stockRefusals.inc({ route: 'checkout' });
            throw new ApiError(409, 'out_of_stock', 'some items do not have enough stock; the cart is unchanged', {
              order_id: result.orderId,
              items: result.shortages,
            });
          }
          if (!result.replayed) await carts.removeOrdered(userId, result.order.items);
          if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
          res.status(result.replayed ? 200 : 201).json(result.order);
        });
      },
    ),
  );
}
