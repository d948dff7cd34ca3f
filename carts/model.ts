/** Carts and wishlists: one MongoDB document per user (collections `carts` and `wishlists`, `_id` = user id),
 * lines keyed by an encoding of the item id. Names, prices and stock are never stored here: every read joins
 * the lines with MySQL's `items` table, the authority. */

/** A cart line as stored. */
export interface StoredCartLine {
  item_id: string;
  quantity: number;
  added_at: Date;
}
/** A wishlist line as stored. */
export interface StoredWishLine {
  item_id: string;
  added_at: Date;
}

export interface CartDoc {
  _id: string;
  user_id: string;
  lines?: Record<string, StoredCartLine>;
  created_at?: Date;
  updated_at?: Date;
}
export interface WishlistDoc {
  _id: string;
  user_id: string;
  lines?: Record<string, StoredWishLine>;
  created_at?: Date;
  updated_at?: Date;
}

/** A cart line as clients see it: the catalog's current name and price, and whether the stock covers it. */
export interface CartLineView {
  item_id: string;
  name: string | null;
  price: number | null;
  quantity: number;
  stock: number;
  /** False when the item is sold out, has less stock than the quantity, or left the catalog. */
  available: boolean;
  line_total: number | null;
  added_at: string;
}

export interface WishlistLineView {
  item_id: string;
  name: string | null;
  price: number | null;
  stock: number;
  available: boolean;
  added_at: string;
}

/** Limits that keep a cart orderable in one order (POST /orders takes at most 100 lines of at most 1000). */
export const MAX_CART_LINES = 100;
export const MAX_LINE_QUANTITY = 1000;
export const MAX_WISHLIST_LINES = 500;

/** The field name of an item's line. Item ids may contain `.` (a path separator in Mongo updates), so the
 * key is the id's hex encoding: never a user-chosen field name or operator. */
export function lineKey(itemId: string): string {
  return `i${Buffer.from(itemId, 'utf8').toString('hex')}`;
}
