import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { isDuplicateKey } from '../stores/mysql/client';
import { hashPassword } from './passwords';

export type Role = 'customer' | 'supplier' | 'admin';
export interface User {
  user_id: string;
  name: string;
  email: string;
  phone: string | null;
  role: Role;
}
interface UserRow extends User {
  password_hash: string;
}

export class EmailTaken extends Error {}

export async function createUser(db: Knex, u: { name: string; email: string; password: string; phone?: string; role?: Role }): Promise<User> {
  const user: User = { user_id: `u-${randomUUID()}`, name: u.name, email: u.email.toLowerCase(), phone: u.phone ?? null, role: u.role ?? 'customer' };
  try {
    await db('users').insert({ ...user, password_hash: await hashPassword(u.password) });
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
 * admin with the configured password, so whoever registered it first cannot use it (nor become admin). */
export async function ensureAdmin(db: Knex, email: string | undefined, password: string | undefined): Promise<void> {
  if (!email || !password) return;
  const existing = await findUserByEmail(db, email);
  if (existing?.role === 'admin') return;
  if (existing) {
    await db('users')
      .where({ user_id: existing.user_id, role: existing.role })
      .update({ role: 'admin', password_hash: await hashPassword(password), updated_at: db.fn.now(3) });
    return;
  }
  try {
    await createUser(db, { name: 'Administrator', email, password, role: 'admin' });
  } catch (err) {
    if (!(err instanceof EmailTaken)) throw err;
  }
}
