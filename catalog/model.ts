/**
 * The catalog's shapes. An item is a MySQL `items` row (price and stock: the authority; name, category,
 * description, supplier_id) plus a MongoDB `items` document (free-form attributes and a copy of the
 * descriptive fields). The row is what makes an item exist: no row, no item, whatever Mongo holds.
 */

/** Attribute keys become search field names (`attributes.<key>`) and Mongo field names: letters first, then
 * letters, digits, `_`, `-` or spaces. No `$`, no `.`, no `__proto__`. */
export const ATTRIBUTE_KEY = /^[A-Za-z][A-Za-z0-9_ -]{0,63}$/;
export const MAX_ATTRIBUTES = 50;
export const MAX_ATTRIBUTE_VALUE = 256;
export const MAX_STOCK = 1_000_000_000;
export const MAX_IMAGES = 10;
export const MAX_IMAGE_URL = 2048;

export type Attributes = Record<string, string>;

/** The descriptive part of an item, as stored in MongoDB (one revision of it). */
export interface ItemDetails {
  name: string;
  category: string;
  description: string | null;
  attributes: Attributes;
  /** Picture URLs (http/https), in display order. Documents written before images existed have none. */
  images?: string[];
}

/** What an item's committed details add to its MySQL row. */
export interface ItemExtras {
  attributes: Attributes;
  images: string[];
}

export interface NewItem extends Omit<ItemDetails, 'description' | 'attributes' | 'images'> {
  item_id?: string;
  description?: string | null;
  attributes?: Attributes;
  images?: string[];
  price: number;
  stock: number;
}

export interface ItemPatch {
  name?: string;
  category?: string;
  description?: string | null;
  attributes?: Attributes;
  images?: string[];
  price?: number;
  stock?: number;
  /** false: delisted (out of search, refused by orders; old orders still name it). */
  listed?: boolean;
}

/** A restock line of the bulk path: absolute stock and/or price of an existing item. */
export interface Restock {
  item_id: string;
  stock?: number;
  price?: number;
}

/** The MySQL row. */
export interface ItemRow {
  item_id: string;
  supplier_id: string | null;
  name: string;
  category: string;
  price: number;
  stock: number;
  description: string | null;
  version: number;
  details_rev: string | null;
  listed: number | boolean;
  /** Set by the first reservation that takes its stock: such an item can be delisted, never deleted. */
  ever_ordered?: number | boolean;
  created_at: Date;
  updated_at: Date;
}

/** What GET /items/{id} answers (the seed's shape plus description, attributes, supplier). */
export interface ItemView {
  item_id: string;
  supplier_id: string | null;
  name: string;
  category: string;
  description: string | null;
  price: number;
  stock: number;
  attributes: Attributes;
  images: string[];
  listed: boolean;
  updated_at: string;
}

export interface Actor {
  userId: string;
  role: 'customer' | 'supplier' | 'admin';
}

export const ITEM_COLUMNS = [
  'item_id',
  'supplier_id',
  'name',
  'category',
  'price',
  'stock',
  'description',
  'version',
  'details_rev',
  'listed',
  'created_at',
  'updated_at',
] as const;

export function toView(row: ItemRow, { attributes, images }: ItemExtras): ItemView {
  return {
    item_id: row.item_id,
    supplier_id: row.supplier_id,
    name: row.name,
    category: row.category,
    description: row.description,
    price: Number(row.price),
    stock: Number(row.stock),
    attributes,
    images,
    listed: Boolean(row.listed),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
