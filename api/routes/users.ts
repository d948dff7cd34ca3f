import { Router } from 'express';
import rateLimit from 'express-rate-limit';
import type { ApiDeps } from '../deps';
import { requirePrincipal } from '../auth';
import { ApiError, errorBody, notFound, unauthorized } from '../errors';
import { z } from '../openapi';
import { Id } from '../schemas';
import { route } from '../validate';
import { sharedStore } from '../rate-limits';
import {
  approveSupplier,
  changePassword,
  findUserById,
  ROLES,
  updateProfile,
  User as UserRecord,
  WrongPassword,
} from '../../users/repository';

const UserParams = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) }).strict();
const User = z
  .object({
    user_id: z.string(),
    name: z.string(),
    email: z.string(),
    phone: z.string().nullable(),
    role: z.enum(ROLES),
  })
  .openapi('User');
// A name: no control characters, something visible (a linear check: a lookahead, then one character class).
const Name = z
  .string()
  .trim()
  .min(1)
  .max(255, { abort: true })
  .regex(/^(?=[^\u0000-\u001f\u007f]*?\S)[^\u0000-\u001f\u007f]*$/, 'visible characters, no control characters');
const Phone = z
  .string()
  .max(20, { abort: true })
  .regex(/^\+?[0-9 ()-]{5,20}$/, 'a phone number');
const UpdateProfile = z
  .object({ name: Name.optional(), phone: Phone.nullable().optional() })
  .strict()
  .openapi('UpdateProfileRequest');
const ChangePassword = z
  .object({ current_password: z.string().min(1).max(200), new_password: z.string().min(8).max(200) })
  .strict()
  .openapi('ChangePasswordRequest');
const NewToken = z
  .object({ token: z.string(), user_id: z.string(), role: z.string(), expires_in: z.number() })
  .openapi('PasswordChanged');
const Approved = z
  .object({ user_id: z.string(), role: z.literal('supplier'), approved: z.literal(true) })
  .openapi('SupplierApproved');

const view = (u: UserRecord) => ({ user_id: u.user_id, name: u.name, email: u.email, phone: u.phone, role: u.role });

/** Accounts: read and change your own (or, for an admin, anyone's), change your password, approve suppliers. */
export function usersRouter(deps: ApiDeps): Router {
  const r = Router();
  const { mysql } = deps.stores;
  const tags = ['accounts'];
  // Each attempt costs an argon2id verification: as few as login attempts, per account.
  const passwordLimit = rateLimit({
    store: sharedStore(deps.stores.redis, deps.cfg, 'password'),
    passOnStoreError: true,
    windowMs: 60_000,
    limit: deps.cfg.RATE_LIMIT_LOGIN,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => req.principal?.userId ?? 'anonymous',
    skip: (req) => !req.principal,
    validate: { keyGeneratorIpFallback: false },
    handler: (_req, res) =>
      void res.status(429).json(errorBody('rate_limited', 'too many password changes; wait a minute')),
  });

  r.get(
    '/users/me',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/me',
        summary: 'Your own account',
        tags,
        auth: true,
        responses: { 200: { description: 'the account', schema: User } },
      },
      async (req, _input, res) => {
        const user = await findUserById(mysql, requirePrincipal(req).userId);
        if (!user) throw unauthorized('the account of this token no longer exists');
        res.json(view(user));
      },
    ),
  );

  r.get(
    '/users/:id',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/:id',
        summary: 'An account (yourself, or anyone for an admin)',
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        responses: { 200: { description: 'the account', schema: User }, 404: { description: 'no such user' } },
      },
      async (_req, { params }, res) => {
        const user = await findUserById(mysql, params.id);
        if (!user) throw notFound(`user ${params.id}`);
        res.json(view(user));
      },
    ),
  );

  r.put(
    '/users/:id',
    route(
      deps.registry,
      {
        method: 'put',
        path: '/users/:id',
        summary: 'Change the name or phone of an account (yourself, or anyone for an admin); a null phone removes it',
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        body: UpdateProfile,
        responses: {
          200: { description: 'the account after the change', schema: User },
          404: { description: 'no such user' },
        },
      },
      async (_req, { params, body }, res) => {
        const user = await updateProfile(mysql, params.id, body);
        if (!user) throw notFound(`user ${params.id}`);
        res.json(view(user));
      },
    ),
  );

  r.post(
    '/users/:id/password',
    passwordLimit,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/users/:id/password',
        summary: 'Change your password (argon2id); every earlier token is revoked and a new one returned',
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        body: ChangePassword,
        responses: {
          200: { description: 'changed: a new token', schema: NewToken },
          403: { description: 'not your account (admins too: it needs the current password)' },
          429: { description: 'too many attempts' },
        },
      },
      async (req, { params, body }, res) => {
        const p = requirePrincipal(req);
        if (p.userId !== params.id)
          throw new ApiError(403, 'forbidden', 'only the account holder can change a password');
        let version: number;
        try {
          version = await changePassword(mysql, params.id, body.current_password, body.new_password);
        } catch (err) {
          if (err instanceof WrongPassword)
            throw new ApiError(403, 'wrong_password', 'the current password is not right');
          throw err;
        }
        await deps.authStates.refresh(params.id); // the earlier tokens are refused from the next request on
        const token = deps.tokens.issue({ userId: p.userId, role: p.role, tokenVersion: version });
        res.json({ token, user_id: p.userId, role: p.role, expires_in: Math.floor(deps.cfg.JWT_TTL / 1000) });
      },
    ),
  );

  r.post(
    '/admin/suppliers/:id/approve',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/admin/suppliers/:id/approve',
        summary: 'Approve a supplier account: only then can it list items (idempotent)',
        tags,
        roles: ['admin'],
        params: UserParams,
        responses: { 200: { description: 'approved', schema: Approved }, 404: { description: 'no such supplier' } },
      },
      async (_req, { params }, res) => {
        if (!(await approveSupplier(mysql, params.id))) throw notFound(`supplier ${params.id}`);
        await deps.authStates.refresh(params.id);
        res.json({ user_id: params.id, role: 'supplier', approved: true });
      },
    ),
  );
  return r;
}
