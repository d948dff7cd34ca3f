/** Bearer tokens (JWT, HS256, signed with JWT_SECRET) and the checks every route makes with them. */
import { createSecretKey, KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Request, RequestHandler } from 'express';
import { ROLES, type Role } from '../users/repository';
import type { AuthStates } from '../users/auth-states';
import { ApiError, forbidden, unauthorized } from './errors';

export interface Principal {
  userId: string;
  role: Role;
  /** The account's token version when the token was issued (claim `ver`); a bump revokes the token. */
  tokenVersion: number;
  /** A supplier an admin approved (only approved suppliers list items); false for other roles. */
  supplierApproved?: boolean;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** A token this process verified: what it says, and when it stops being valid. */
interface VerifiedToken {
  principal: Readonly<Principal>;
  expiresAtMs: number;
}

export class TokenService {
  // A KeyObject, made once: given a string, jsonwebtoken first tries (and fails) to parse it as a public key
  // on every call, which was the API's largest CPU cost per request in the flash-sale profile.
  private readonly key: KeyObject;
  /**
   * Tokens whose signature this process checked, by their exact text, until they expire: a client sends the same
   * token with each request, and checking it (base64 and JSON decoding, HMAC) was about 7% of a sold-out order's
   * answer (issue 12's profile). Only a token that verified is kept; its expiry is checked on every use; revocation
   * is the auth state's check (authenticate below), which still runs on every request. At most `cacheMax`
   * entries (the oldest goes first); 0 keeps none.
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly cacheMax = 10_000,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  issue(p: { userId: string; role: Role; tokenVersion?: number }): string {
    return jwt.sign({ role: p.role, ver: p.tokenVersion ?? 0 }, this.key, {
      algorithm: 'HS256',
      subject: p.userId,
      expiresIn: this.ttlSeconds,
    });
  }

  verify(token: string): Readonly<Principal> | undefined {
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (Date.now() < known.expiresAtMs) return known.principal;
      this.verified.delete(token);
    }
    const checked = this.check(token);
    if (checked !== undefined && this.cacheMax > 0) {
      if (this.verified.size >= this.cacheMax) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, checked);
    }
    return checked?.principal;
  }

  private check(token: string): VerifiedToken | undefined {
    try {
      const claims = jwt.verify(token, this.key, { algorithms: ['HS256'] }) as jwt.JwtPayload;
      const role = claims.role as Role;
      if (typeof claims.sub !== 'string' || !ROLES.includes(role)) return undefined;
      if (typeof claims.exp !== 'number') return undefined; // jsonwebtoken accepts a token without expiry; we do not
      const ver = claims.ver ?? 0;
      if (!Number.isInteger(ver) || ver < 0) return undefined;
      const principal = Object.freeze({ userId: claims.sub, role, tokenVersion: ver });
      return { principal, expiresAtMs: claims.exp * 1000 };
    } catch {
      return undefined;
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header; undefined for no header or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

/**
 * Reads the bearer token when there is one; routes decide whether they need it. A valid signature is not
 * enough: the account must still exist, with the token's role and token version (a password or role change
 * bumps it). The state comes from Redis, refreshed by every change made through the API before it answers, so a
 * revocation takes effect on the next request (users/auth-states.ts).
 */
export function authenticate(tokens: TokenService, authStates: AuthStates): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const token = bearerToken(header);
    if (token !== undefined) {
      const p = tokens.verify(token);
      if (!p) return next(unauthorized('the token is invalid or expired'));
      authStates.get(p.userId).then((state) => {
        if (!state) return next(unauthorized('the account of this token no longer exists'));
        if (state.token_version !== p.tokenVersion || state.role !== p.role)
          return next(unauthorized('this token was revoked (password or role changed): log in again'));
        req.principal = { ...p, supplierApproved: state.role === 'supplier' && state.supplier_approved };
        next();
      }, next);
      return;
    } else if (header) {
      return next(unauthorized('use an Authorization: Bearer <token> header'));
    }
    next();
  };
}

export function requirePrincipal(req: Request): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

export function requireRole(req: Request, ...roles: Role[]): Principal {
  const p = requirePrincipal(req);
  if (!roles.includes(p.role)) throw forbidden(`this needs the role ${roles.join(' or ')}`);
  return p;
}

/** A customer reaches only their own resources; admins reach everyone's. */
export function mayActFor(p: Pick<Principal, 'role' | 'userId'>, userId: string): boolean {
  return p.role === 'admin' || p.userId === userId;
}

export function requireSelfOrAdmin(req: Request, userId: string): Principal {
  const p = requirePrincipal(req);
  if (!mayActFor(p, userId)) throw forbidden('this belongs to another user');
  return p;
}

/** Item writes: an admin, or a supplier an admin approved (POST /admin/suppliers/{id}/approve). */
export function requireApprovedSupplierOrAdmin(req: Request): Principal {
  const p = requireRole(req, 'supplier', 'admin');
  if (p.role === 'supplier' && !p.supplierApproved)
    throw new ApiError(403, 'supplier_not_approved', 'your supplier account waits for an admin to approve it');
  return p;
}
