/**
 * A user's shipping addresses (MySQL `user_addresses`), and the address shape orders carry. An order stores a
 * copy of its address (orders.shipping_address), so editing or deleting a saved address never changes where
 * an earlier order went.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  region?: string;
  postal_code: string;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
  phone?: string;
}

export interface SavedAddress extends ShippingAddress {
  address_id: string;
  created_at: string;
}

/** Saved addresses per user, at most. */
export const MAX_ADDRESSES = 20;

const FIELDS = ['name', 'line1', 'line2', 'city', 'region', 'postal_code', 'country', 'phone'] as const;

/** Only the address's own fields, without empty optionals (the stored and emitted shape). */
export function cleanAddress(a: ShippingAddress): ShippingAddress {
  const out: Record<string, string> = {};
  for (const f of FIELDS) {
    const v = (a as unknown as Record<string, string | null | undefined>)[f];
    if (v !== undefined && v !== null && v !== '') out[f] = v;
  }
  return out as unknown as ShippingAddress;
}

type Row = ShippingAddress & {
  address_id: string;
  user_id: string;
  created_at: Date;
  line2: string | null;
  region: string | null;
  phone: string | null;
};
const toSaved = (r: Row): SavedAddress => ({
  address_id: r.address_id,
  ...cleanAddress(r),
  created_at: new Date(r.created_at).toISOString(),
});

export async function listAddresses(db: Knex, userId: string): Promise<SavedAddress[]> {
  const rows: Row[] = await db('user_addresses')
    .where({ user_id: userId })
    .orderBy([
      { column: 'created_at', order: 'asc' },
      { column: 'address_id', order: 'asc' },
    ]);
  return rows.map(toSaved);
}

export async function findAddress(db: Knex, userId: string, addressId: string): Promise<SavedAddress | undefined> {
  const row: Row | undefined = await db('user_addresses').where({ user_id: userId, address_id: addressId }).first();
  return row ? toSaved(row) : undefined;
}

export class TooManyAddresses extends Error {}

/** Saves an address; refuses the user's MAX_ADDRESSES+1st (the count is checked under the user's row lock, so
 * concurrent saves cannot pass it together). */
export async function addAddress(db: Knex, userId: string, address: ShippingAddress): Promise<SavedAddress> {
  const addressId = `a-${randomUUID()}`;
  await db.transaction(async (trx) => {
    await trx('users').select('user_id').where({ user_id: userId }).forUpdate().first();
    const [{ n }] = await trx('user_addresses').where({ user_id: userId }).count({ n: '*' });
    if (Number(n) >= MAX_ADDRESSES) throw new TooManyAddresses(`at most ${MAX_ADDRESSES} addresses`);
    const a = cleanAddress(address);
    await trx('user_addresses').insert({
      address_id: addressId,
      user_id: userId,
      ...Object.fromEntries(FIELDS.map((f) => [f, (a as unknown as Record<string, string>)[f] ?? null])),
    });
  });
  return (await findAddress(db, userId, addressId))!;
}

/** True when the address was the user's and is gone now. */
export async function deleteAddress(db: Knex, userId: string, addressId: string): Promise<boolean> {
  return (await db('user_addresses').where({ user_id: userId, address_id: addressId }).delete()) > 0;
}
