/** The shipping address as the API accepts and shows it (users' saved addresses, orders, checkout). */
import type { Knex } from 'knex';
import { z } from './openapi';
import { ApiError, badRequest } from './errors';
import { COUNTRY_CODES } from '../users/countries';
import { cleanAddress, findAddress, ShippingAddress } from '../users/addresses';

// A line of text: no control characters, and something visible. Two linear patterns, checked only once the
// length check passed (`abort`): a single pattern with a `*` on each side of the visible character backtracks
// quadratically on a long line of spaces (test/integration/stall.test.ts).
const NO_CONTROL = /^[^\u0000-\u001f\u007f]+$/;
const VISIBLE = /\S/;
const Line = (max: number) =>
  z
    .string()
    .min(1)
    .max(max, { abort: true })
    .regex(NO_CONTROL, 'no control characters')
    .regex(VISIBLE, 'visible characters');

export const AddressSchema = z
  .object({
    name: Line(100).openapi({ description: 'who receives the parcel' }),
    line1: Line(200),
    line2: Line(200).optional(),
    city: Line(100),
    region: Line(100).optional().openapi({ description: 'state, province or county, where the country uses one' }),
    postal_code: z
      .string()
      .min(1)
      .max(20, { abort: true })
      .regex(/^[A-Za-z0-9][A-Za-z0-9 -]*$/, 'letters, digits, spaces and hyphens'),
    country: z.enum(COUNTRY_CODES).openapi({ description: 'ISO 3166-1 alpha-2, upper case', example: 'FR' }),
    phone: z
      .string()
      .max(21, { abort: true })
      .regex(/^\+?[0-9 ()-]{5,20}$/, 'a phone number')
      .optional(),
  })
  .strict()
  .openapi('ShippingAddress', {
    example: { name: 'Ada Lovelace', line1: '12 Rue de Rivoli', city: 'Paris', postal_code: '75004', country: 'FR' },
  } as never);

export const SavedAddressSchema = AddressSchema.extend({ address_id: z.string(), created_at: z.string() }).openapi(
  'SavedAddress',
);

/** What POST /orders and cart checkout take: a full address, or the id of one of the buyer's saved addresses. */
export const AddressChoice = {
  shipping_address: AddressSchema.optional().openapi({ description: 'where to ship (or give address_id)' }),
  address_id: z
    .string()
    .min(1)
    .max(50, { abort: true })
    .regex(/^[A-Za-z0-9_.:-]+$/)
    .optional()
    .openapi({ description: "one of the buyer's saved addresses (GET /users/{id}/addresses)" }),
};
export const ADDRESS_REQUIRED = 'a shipping address is required: give shipping_address or address_id (not both)';
export const hasOneAddress = (b: { shipping_address?: unknown; address_id?: unknown }) =>
  (b.shipping_address === undefined) !== (b.address_id === undefined);

/** The address an order ships to: the one given, or the buyer's saved one named by address_id (404 when the
 * buyer has no such address), or 400 without either. */
export async function resolveShippingAddress(
  mysql: Knex,
  userId: string,
  body: { shipping_address?: ShippingAddress; address_id?: string },
): Promise<ShippingAddress> {
  if (!hasOneAddress(body)) throw badRequest(ADDRESS_REQUIRED);
  if (body.shipping_address) return cleanAddress(body.shipping_address);
  const saved = await findAddress(mysql, userId, body.address_id!);
  if (!saved) throw new ApiError(404, 'address_not_found', `user ${userId} has no address ${body.address_id}`);
  const { address_id: _id, created_at: _at, ...address } = saved;
  return address;
}
