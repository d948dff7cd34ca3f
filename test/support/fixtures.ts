/** Test data made through the platform's own code: users with tokens, items with stock. Every id is new, so
 * test files never collide and nothing is truncated. */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createUser, Role } from '../../users/repository';
import { reserveOrder } from '../../orders/reservation';
import type { TokenService } from '../../api/auth';
import type { PaymentMethod } from '../../orders/model';

export interface TestUser {
  userId: string;
  token: string;
  email: string;
  role: Role;
}

/** A user with a token; a supplier is approved unless `approved: false` (only approved suppliers list items). */
export async function makeUser(
  mysql: Knex,
  tokens: TokenService,
  role: Role = 'customer',
  opts: { approved?: boolean } = {},
): Promise<TestUser> {
  const email = `${role}-${randomUUID()}@test.shopflow.dev`;
  const u = await createUser(mysql, {
    name: `Test ${role}`,
    email,
    password: 'correct horse battery',
    role,
    supplierApproved: opts.approved ?? true,
  });
  return { userId: u.user_id, token: tokens.issue({ userId: u.user_id, role }), email, role };
}

export async function makeItem(
  mysql: Knex,
  opts: { stock: number; price?: number; supplierId?: string; category?: string; name?: string },
): Promise<string> {
  const itemId = `it-${randomUUID().slice(0, 18)}`;
  await mysql('items').insert({
    item_id: itemId,
    supplier_id: opts.supplierId ?? null,
    name: opts.name ?? `Test item ${itemId}`,
    category: opts.category ?? 'Test',
    price: opts.price ?? 10,
    stock: opts.stock,
  });
  return itemId;
}

export async function stockOf(mysql: Knex, itemId: string): Promise<number> {
  const row = await mysql('items').select('stock').where({ item_id: itemId }).first();
  return Number(row.stock);
}

/** An order reserved as the API reserves one, its saga not started (as a crash, or Temporal down, leaves it):
 * `quantity` (1) units of `itemId`, its payment window `expiresInMs` (a minute; negative: closed already). */
export async function reserveUnstarted(
  mysql: Knex,
  userId: string,
  opts: { itemId: string; quantity?: number; paymentMethod?: PaymentMethod; expiresInMs?: number },
): Promise<string> {
  const orderId = `o-${randomUUID()}`;
  const r = await reserveOrder(
    mysql,
    {
      orderId,
      userId,
      lines: [{ item_id: opts.itemId, quantity: opts.quantity ?? 1 }],
      paymentMethod: opts.paymentMethod ?? 'pm_card_visa',
      expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 60_000)).toISOString(),
    },
    { fresh: true },
  );
  if (!r.ok) throw new Error(`the test order was not reserved: ${JSON.stringify(r.shortages)}`);
  return orderId;
}

/** A created order of `quantity` units of a fresh item of `stock` units, reserved as the API reserves one (its
 * payment window a minute long); no saga runs for it. */
export async function makeOrder(
  mysql: Knex,
  userId: string,
  opts: { stock: number; quantity: number },
): Promise<{ orderId: string; itemId: string }> {
  const itemId = await makeItem(mysql, { stock: opts.stock });
  return { orderId: await reserveUnstarted(mysql, userId, { itemId, quantity: opts.quantity }), itemId };
}

/** A topic for tests only (the smoke test, the outbox's housekeeping): created by the tests that use it. */
export const TEST_TOPIC = { name: 'shopflow.smoke', partitions: 1 };
