/** Bearer tokens (JWT, HS256, signed with JWT_SECRET) and the checks every route makes with them. */
import { createSecretKey, KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Request, RequestHandler } from 'express';
import type { Role } from '../users/repository';
import { forbidden, unauthorized } from './errors';

export interface Principal {
  userId: string;
  role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export class TokenService {
  // A KeyObject, made once: given a string, jsonwebtoken first tries (and fails) to parse it as a public key
  // on every call, which was the API's largest CPU cost per request in the flash-sale profile.
  private readonly key: KeyObject;

  constructor(secret: string, private readonly ttlSeconds: number) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  issue(p: Principal): string {
    return jwt.sign({ role: p.role }, this.key, { algorithm: 'HS256', subject: p.userId, expiresIn: this.ttlSeconds });
  }

  verify(token: string): Principal | undefined {
    try {
      const claims = jwt.verify(token, this.key, { algorithms: ['HS256'] }) as jwt.JwtPayload;
      const role = claims.role as Role;
      if (typeof claims.sub !== 'string' || !['customer', 'supplier', 'admin'].includes(role)) return undefined;
      return { userId: claims.sub, role };
    } catch {
      return undefined;
    }
  }
}

/** Reads the bearer token when there is one; routes decide whether they need it. */
export function authenticate(tokens: TokenService): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) {
      const p = tokens.verify(header.slice(7).trim());
      if (!p) return next(unauthorized('the token is invalid or expired'));
      req.principal = p;
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
export function requireSelfOrAdmin(req: Request, userId: string): Principal {
  const p = requirePrincipal(req);
  if (p.role !== 'admin' && p.userId !== userId) throw forbidden('this belongs to another user');
  return p;
}
