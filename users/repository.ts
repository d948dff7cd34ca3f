import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { isDuplicateKey } from '../stores/mysql/client';
import { hashPassword, verifyPassword } from './passwords';

export const ROLES = ['customer', 'supplier', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export interface User {
  user_id: string;
  name: string;
  email: string;
  phone: string | null;
  role: Role;
}
interface UserRow extends User {
  password_hash: string;
  token_version: number;
  supplier_approved_at: Date | null;
}
/** What each authenticated request checks against its token (api/auth.ts). */
export interface AuthState {
  role: Role;
  token_version: number;
  supplier_approved: boolean;
}

export class EmailTaken extends Error {}

/** A new account. A supplier starts unapproved (it cannot list items until an admin approves it) unless
 * `supplierApproved` says otherwise (test fixtures, demo data). */
export async function createUser(
  db: Knex,
  u: { name: string; email: string; password: string; phone?: string; role?: Role; supplierApproved?: boolean },
): Promise<User> {
  const user: User = {
    user_id: `u-${randomUUID()}`,
    name: u.name,
    email: u.email.toLowerCase(),
    phone: u.phone ?? null,
    role: u.role ?? 'customer',
  };
  try {
    await db('users').insert({
      ...user,
      password_hash: await hashPassword(u.password),
      supplier_approved_at: u.supplierApproved ? db.fn.now(3) : null,
    });
  } catch (err) {
    if (isDuplicateKey(err)) throw new EmailTaken(u.email);
    throw err;
  }
  return user;
}

export async function findUserByEmail(db: Knex, email: string): Promise<UserRow | undefined> {
  return db('users').where({ email: email.toLowerCase() }).first();
}

export async function findUserById(db: Knex, userId: string): Promise<User | undefined> {
  return db('users').select('user_id', 'name', 'email', 'phone', 'role').where({ user_id: userId }).first();
}

/** The first admin, from ADMIN_EMAIL / ADMIN_PASSWORD (idempotent: an existing admin is left alone). An
 * account that someone registered under that email before the admin existed is taken over: it becomes the
 * admin with the configured password, so whoever registered it first cannot use it (nor become admin).
 * Returns the id of an account taken over (its auth state changed), else undefined. */
export async function ensureAdmin(
  db: Knex,
  email: string | undefined,
  password: string | undefined,
): Promise<string | undefined> {
  if (!email || !password) return undefined;
  const existing = await findUserByEmail(db, email);
  if (existing?.role === 'admin') return undefined;
  if (existing) {
    // A new role and password: the squatter's earlier tokens are revoked with the version bump.
    await db('users')
      .where({ user_id: existing.user_id, role: existing.role })
      .update({
        role: 'admin',
        password_hash: await hashPassword(password),
        token_version: db.raw('token_version + 1'),
        updated_at: db.fn.now(3),
      });
    return existing.user_id;
  }
  try {
    await createUser(db, { name: 'Administrator', email, password, role: 'admin' });
  } catch (err) {
    if (!(err instanceof EmailTaken)) throw err;
  }
  return undefined;
}

const AUTH_STATE_COLUMNS = ['role', 'token_version', 'supplier_approved_at'] as const;
interface AuthStateRow {
  role: Role;
  token_version: number;
  supplier_approved_at: Date | null;
}
const toAuthState = (row: AuthStateRow): AuthState => ({
  role: row.role,
  token_version: Number(row.token_version),
  supplier_approved: row.supplier_approved_at !== null,
});

/** One primary-key read: the account's role, token version and supplier approval (null: no such account). */
export async function findAuthState(db: Knex, userId: string): Promise<AuthState | null> {
  const row: AuthStateRow | undefined = await db('users')
    .select(...AUTH_STATE_COLUMNS)
    .where({ user_id: userId })
    .first();
  return row ? toAuthState(row) : null;
}

/** The auth states of many accounts in one query (missing accounts are absent from the map). */
export async function findAuthStates(db: Knex, userIds: readonly string[]): Promise<Map<string, AuthState>> {
  const rows: (AuthStateRow & { user_id: string })[] = await db('users')
    .select('user_id', ...AUTH_STATE_COLUMNS)
    .whereIn('user_id', [...userIds]);
  return new Map(rows.map((row) => [row.user_id, toAuthState(row)]));
}

/** Name and phone; the rest of the account (email, role) is not the user's to change here. */
export async function updateProfile(
  db: Knex,
  userId: string,
  change: { name?: string; phone?: string | null },
): Promise<User | undefined> {
  if (Object.keys(change).length > 0)
    await db('users')
      .where({ user_id: userId })
      .update({ ...change, updated_at: db.fn.now(3) });
  return findUserById(db, userId);
}

export class WrongPassword extends Error {}

/** Checks the current password and sets a new one; bumping the token version revokes every earlier token
 * (the caller gets a new one). Conditional on the hash it checked, so two racing changes cannot both win. */
export async function changePassword(db: Knex, userId: string, current: string, next: string): Promise<number> {
  const row: Pick<UserRow, 'password_hash' | 'token_version'> | undefined = await db('users')
    .select('password_hash', 'token_version')
    .where({ user_id: userId })
    .first();
  if (!row || !(await verifyPassword(row.password_hash, current))) throw new WrongPassword();
  const changed = await db('users')
    .where({ user_id: userId, password_hash: row.password_hash })
    .update({
      password_hash: await hashPassword(next),
      token_version: db.raw('token_version + 1'),
      updated_at: db.fn.now(3),
    });
  if (changed !== 1) throw new WrongPassword();
  return Number(row.token_version) + 1;
}

/** An admin approves a supplier account (idempotent: the first approval time is kept). False: no such supplier. */
export async function approveSupplier(db: Knex, userId: string): Promise<boolean> {
  const row = await db('users').select('role').where({ user_id: userId }).first();
  if (!row || row.role !== 'supplier') return false;
  await db('users')
    .where({ user_id: userId })
    .whereNull('supplier_approved_at')
    .update({ supplier_approved_at: db.fn.now(3), updated_at: db.fn.now(3) });
  return true;
}
