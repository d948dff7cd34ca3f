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

/** The first admin, from ADMIN_EMAIL / ADMIN_PASSWORD (idempotent: an existing account is left alone). */
export async function ensureAdmin(db: Knex, email: string | undefined, password: string | undefined): Promise<void> {
  if (!email || !password) return;
  if (await findUserByEmail(db, email)) return;
  try {
    await createUser(db, { name: 'Administrator', email, password, role: 'admin' });
  } catch (err) {
    if (!(err instanceof EmailTaken)) throw err;
  }
}
