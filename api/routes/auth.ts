import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import rateLimit from 'express-rate-limit';
import type { ApiDeps } from '../deps';
import { ApiError, errorBody, unauthorized } from '../errors';
import { z } from '../openapi';
import { route } from '../validate';
import { sharedStore } from '../rate-limits';
import { createUser, EmailTaken, findUserByEmail } from '../../users/repository';
import { hashPassword, verifyPassword } from '../../users/passwords';

/** An email address as HTML forms define it (WHATWG), as a pattern the OpenAPI document carries too: what the
 * document promises is exactly what is accepted. */
const Email = z
  .string()
  .max(255, { abort: true })
  .regex(z.regexes.html5Email, 'an email address')
  .openapi({ example: 'ada@example.com' });

const Register = z
  .object({
    name: z.string().trim().min(1).max(255),
    email: Email,
    password: z.string().min(8).max(200),
    phone: z
      .string()
      .regex(/^\+?[0-9 ()-]{5,20}$/)
      .optional(),
    /** Sellers sign up as suppliers; admins are never self-made. */
    role: z.enum(['customer', 'supplier']).optional(),
  })
  .strict()
  .openapi('RegisterRequest');
const Registered = z
  .object({ user_id: z.string(), name: z.string(), email: z.string(), role: z.string() })
  .openapi('RegisteredUser');
const Login = z
  .object({ email: Email, password: z.string().min(1).max(200) })
  .strict()
  .openapi('LoginRequest');
const Token = z
  .object({ token: z.string(), user_id: z.string(), role: z.string(), expires_in: z.number() })
  .openapi('Token');

export function authRouter(deps: ApiDeps): Router {
  const r = Router();
  const { mysql } = deps.stores;
  const dummyHash = hashPassword(randomUUID());
  const loginLimit = rateLimit({
    store: sharedStore(deps.stores.redis, deps.cfg, 'login'),
    passOnStoreError: true,
    windowMs: 60_000,
    limit: deps.cfg.RATE_LIMIT_LOGIN,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res) =>
      void res.status(429).json(errorBody('rate_limited', 'too many login attempts; wait a minute')),
  });

  const registerLimit = rateLimit({
    store: sharedStore(deps.stores.redis, deps.cfg, 'register'),
    passOnStoreError: true,
    windowMs: 60_000,
    limit: deps.cfg.RATE_LIMIT_REGISTER,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res) =>
      void res.status(429).json(errorBody('rate_limited', 'too many sign-ups from here; wait a minute')),
  });

  r.post(
    '/auth/register',
    registerLimit,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/auth/register',
        summary: 'Create an account',
        tags: ['accounts'],
        body: Register,
        responses: {
          201: { description: 'created', schema: Registered },
          409: { description: 'email taken' },
          429: { description: 'too many sign-ups' },
        },
      },
      async (_req, { body }, res) => {
        try {
          const u = await createUser(mysql, body);
          res.status(201).json({ user_id: u.user_id, name: u.name, email: u.email, role: u.role });
        } catch (err) {
          if (err instanceof EmailTaken) throw new ApiError(409, 'email_taken', 'an account with this email exists');
          throw err;
        }
      },
    ),
  );

  r.post(
    '/auth/login',
    loginLimit,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/auth/login',
        summary: 'Get a bearer token',
        tags: ['accounts'],
        body: Login,
        responses: {
          200: { description: 'a token', schema: Token },
          401: { description: 'wrong email or password' },
          429: { description: 'too many attempts' },
        },
      },
      async (_req, { body }, res) => {
        const user = await findUserByEmail(mysql, body.email);
        // The same answer, in about the same time, for an unknown email and a wrong password: an unknown email
        // is checked against a dummy hash, so timing does not tell which accounts exist.
        const ok = await verifyPassword(user?.password_hash ?? (await dummyHash), body.password);
        if (!user || !ok) throw unauthorized('wrong email or password');
        const token = deps.tokens.issue({
          userId: user.user_id,
          role: user.role,
          tokenVersion: Number(user.token_version),
        });
        res.json({ token, user_id: user.user_id, role: user.role, expires_in: Math.floor(deps.cfg.JWT_TTL / 1000) });
      },
    ),
  );
  return r;
}
