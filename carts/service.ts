/**
 * Carts and wishlists (MongoDB) joined with the catalog (MySQL `items`, the authority on name, price and
 * stock). Writes are per user, serialized by a short Redis lock (see ./lock.ts) and expressed as update
 * operators the server builds on fixed paths (`lines.<hex of item id>`): no client value is ever used as a
 * field name or an operator.
 */
import type { Knex } from 'knex';
import type { Collection, Db } from 'mongodb';
import { conflict, DomainError } from '../lib/errors';
import type { Redis } from '../stores/redis/client';
import type { OrderLine } from '../orders/model';
import { UserLock } from './lock';
import {
  CartDoc,
  CartLineView,
  lineKey,
  MAX_CART_LINES,
  MAX_LINE_QUANTITY,
  MAX_WISHLIST_LINES,
  StoredCartLine,
  StoredWishLine,
  WishlistDoc,
  WishlistLineView,
} from './model';

interface CatalogRow {
  item_id: string;
  name: string;
  price: number;
  stock: number;
}

export const itemNotFound = (itemId: string) =>
  new DomainError('not_found', 'item_not_found', `unknown item: ${itemId}`, { item_ids: [itemId] });
const notInList = (what: string, itemId: string) =>
  new DomainError('not_found', 'not_found', `item ${itemId} is not in the ${what}`);

export class CartService {
  private readonly carts: Collection<CartDoc>;
  private readonly wishlists: Collection<WishlistDoc>;
  private readonly lock: UserLock;
  /** One checkout of a cart at a time: a double-submitted checkout must not order the cart twice. Held for
   * as long as POST /orders may take (its reservation deadline) plus a margin. */
  private readonly checkoutLock: UserLock;

  constructor(
    mongo: Db,
    private readonly mysql: Knex,
    redis: Redis,
    checkoutTtlMs = 30_000,
  ) {
    this.carts = mongo.collection<CartDoc>('carts');
    this.wishlists = mongo.collection<WishlistDoc>('wishlists');
    this.lock = new UserLock(redis);
    this.checkoutLock = new UserLock(redis, {
      ttlMs: checkoutTtlMs,
      waitMs: 0,
      busy: () => conflict('checkout_in_progress', 'a checkout of this cart is in progress'),
    });
  }

  // ---- cart ----

  async getCart(userId: string): Promise<CartLineView[]> {
    const doc = await this.carts.findOne({ _id: userId });
    return this.viewCart(doc);
  }

  /** The stored lines, oldest first (for checkout). */
  async cartLines(userId: string): Promise<StoredCartLine[]> {
    return sortLines(Object.values((await this.carts.findOne({ _id: userId }))?.lines ?? {}));
  }

  /** Adds `quantity` of an item (to the line's quantity when the item is in the cart already). */
  async addToCart(userId: string, requestedId: string, quantity: number): Promise<CartLineView[]> {
    const itemId = await this.canonicalItemId(requestedId);
    const k = lineKey(itemId);
    return this.lock.with(`cart:${userId}`, async () => {
      const doc = await this.carts.findOne({ _id: userId });
      const line = doc?.lines?.[k];
      const now = new Date();
      if (line) {
        const next = line.quantity + quantity;
        if (next > MAX_LINE_QUANTITY) throw cartLimit(`a cart line holds at most ${MAX_LINE_QUANTITY} units`);
        await this.carts.updateOne(
          { _id: userId },
          { $inc: { [`lines.${k}.quantity`]: quantity }, $set: { updated_at: now } },
        );
      } else {
        if (Object.keys(doc?.lines ?? {}).length >= MAX_CART_LINES)
          throw cartLimit(`a cart holds at most ${MAX_CART_LINES} different items`);
        const stored: StoredCartLine = { item_id: itemId, quantity, added_at: now };
        await this.carts.updateOne(
          { _id: userId },
          { $set: { [`lines.${k}`]: stored, user_id: userId, updated_at: now }, $setOnInsert: { created_at: now } },
          { upsert: true },
        );
      }
      return this.getCart(userId);
    });
  }

  /** Sets a line's quantity; the item must be in the cart. */
  async setQuantity(userId: string, itemId: string, quantity: number): Promise<CartLineView[]> {
    const k = lineKey(itemId);
    return this.lock.with(`cart:${userId}`, async () => {
      const r = await this.carts.updateOne(
        { _id: userId, [`lines.${k}`]: { $exists: true } },
        { $set: { [`lines.${k}.quantity`]: quantity, updated_at: new Date() } },
      );
      if (r.matchedCount === 0) throw notInList('cart', itemId);
      return this.getCart(userId);
    });
  }

  async removeFromCart(userId: string, itemId: string): Promise<CartLineView[]> {
    const k = lineKey(itemId);
    return this.lock.with(`cart:${userId}`, async () => {
      const r = await this.carts.updateOne(
        { _id: userId, [`lines.${k}`]: { $exists: true } },
        { $unset: { [`lines.${k}`]: '' }, $set: { updated_at: new Date() } },
      );
      if (r.matchedCount === 0) throw notInList('cart', itemId);
      return this.getCart(userId);
    });
  }

  /** After an order was created from the cart: takes the ordered quantities out of the cart. A line that grew
   * while the order was placed keeps the difference; lines added meanwhile stay. */
  async removeOrdered(userId: string, ordered: OrderLine[]): Promise<void> {
    await this.lock.with(`cart:${userId}`, async () => {
      const doc = await this.carts.findOne({ _id: userId });
      const $set: Record<string, unknown> = { updated_at: new Date() };
      const $unset: Record<string, ''> = {};
      for (const o of ordered) {
        const k = lineKey(o.item_id);
        const line = doc?.lines?.[k];
        if (!line) continue;
        if (line.quantity > o.quantity) $set[`lines.${k}.quantity`] = line.quantity - o.quantity;
        else $unset[`lines.${k}`] = '';
      }
      await this.carts.updateOne({ _id: userId }, Object.keys($unset).length ? { $set, $unset } : { $set });
    });
  }

  /** Runs a checkout of the user's cart, refusing (409) a second one while the first runs. */
  withCheckout<T>(userId: string, fn: () => Promise<T>): Promise<T> {
    return this.checkoutLock.with(`checkout:${userId}`, fn);
  }

  // ---- wishlist ----

  async getWishlist(userId: string): Promise<WishlistLineView[]> {
    const doc = await this.wishlists.findOne({ _id: userId });
    const lines = sortLines(Object.values(doc?.lines ?? {}));
    const catalog = await this.catalog(lines.map((l) => l.item_id));
    return lines.map((l) => {
      const item = catalog.get(l.item_id);
      return {
        item_id: l.item_id,
        name: item?.name ?? null,
        price: item?.price ?? null,
        stock: item?.stock ?? 0,
        available: (item?.stock ?? 0) > 0,
        added_at: l.added_at.toISOString(),
      };
    });
  }

  /** Adds an item to the wishlist; true when it was not there yet. */
  async addToWishlist(userId: string, requestedId: string): Promise<boolean> {
    const itemId = await this.canonicalItemId(requestedId);
    const k = lineKey(itemId);
    return this.lock.with(`wishlist:${userId}`, async () => {
      const doc = await this.wishlists.findOne({ _id: userId });
      if (doc?.lines?.[k]) return false;
      if (Object.keys(doc?.lines ?? {}).length >= MAX_WISHLIST_LINES)
        throw cartLimit(`a wishlist holds at most ${MAX_WISHLIST_LINES} items`);
      const now = new Date();
      const stored: StoredWishLine = { item_id: itemId, added_at: now };
      await this.wishlists.updateOne(
        { _id: userId },
        { $set: { [`lines.${k}`]: stored, user_id: userId, updated_at: now }, $setOnInsert: { created_at: now } },
        { upsert: true },
      );
      return true;
    });
  }

  async removeFromWishlist(userId: string, itemId: string): Promise<void> {
    const k = lineKey(itemId);
    await this.lock.with(`wishlist:${userId}`, async () => {
      const r = await this.wishlists.updateOne(
        { _id: userId, [`lines.${k}`]: { $exists: true } },
        { $unset: { [`lines.${k}`]: '' }, $set: { updated_at: new Date() } },
      );
      if (r.matchedCount === 0) throw notInList('wishlist', itemId);
    });
  }

  // ---- catalog ----

  private async viewCart(doc: CartDoc | null): Promise<CartLineView[]> {
    const lines = sortLines(Object.values(doc?.lines ?? {}));
    const catalog = await this.catalog(lines.map((l) => l.item_id));
    return lines.map((l) => {
      const item = catalog.get(l.item_id);
      const stock = item?.stock ?? 0;
      return {
        item_id: l.item_id,
        name: item?.name ?? null,
        price: item?.price ?? null,
        quantity: l.quantity,
        stock,
        available: item !== undefined && stock >= l.quantity,
        line_total: item ? Math.round(item.price * l.quantity * 100) / 100 : null,
        added_at: l.added_at.toISOString(),
      };
    });
  }

  private async catalog(itemIds: string[]): Promise<Map<string, CatalogRow>> {
    if (itemIds.length === 0) return new Map();
    const rows: CatalogRow[] = await this.mysql('items')
      .select('item_id', 'name', 'price', 'stock')
      .whereIn('item_id', itemIds);
    return new Map(rows.map((r) => [r.item_id, { ...r, price: Number(r.price), stock: Number(r.stock) }]));
  }

  /** The item's id as the catalog spells it (MySQL compares ids case-insensitively); 404 for an unknown item. */
  private async canonicalItemId(itemId: string): Promise<string> {
    const row: { item_id: string } | undefined = await this.mysql('items')
      .select('item_id')
      .where({ item_id: itemId })
      .first();
    if (!row) throw itemNotFound(itemId);
    return row.item_id;
  }
}

const cartLimit = (message: string) => conflict('limit_reached', message);

function sortLines<L extends { item_id: string; added_at: Date }>(lines: L[]): L[] {
  return lines.sort(
    (a, b) =>
      a.added_at.getTime() - b.added_at.getTime() || (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0),
  );
}
