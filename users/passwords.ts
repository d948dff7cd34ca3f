import argon2 from 'argon2';

/** Argon2id, the slow memory-hard hash (OWASP's first choice for passwords). */
export const hashPassword = (plain: string) => argon2.hash(plain, { type: argon2.argon2id });
export const verifyPassword = (hash: string, plain: string) => argon2.verify(hash, plain).catch(() => false);
