import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireSelfOrAdmin } from '../auth';
import { notFound } from '../errors';
import { z } from '../openapi';
import { Id } from '../schemas';
import { route } from '../validate';
import { findUserById } from '../../users/repository';

const UserParams = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) }).strict();
const User = z
  .object({ user_id: z.string(), name: z.string(), email: z.string(), phone: z.string().nullable(), role: z.enum(['customer', 'supplier', 'admin']) })
  .openapi('User');

/** A user's account: the user themself or an admin. */
export function usersRouter(deps: ApiDeps): Router {
  const r = Router();
  r.get(
    '/users/:id',
    route(deps.registry, { method: 'get', path: '/users/:id', summary: 'An account (yourself, or anyone for an admin)', tags: ['accounts'], auth: true, params: UserParams, responses: { 200: { description: 'the account', schema: User }, 404: { description: 'no such user' } } }, async (req, { params }, res) => {
      requireSelfOrAdmin(req, params.id);
      const user = await findUserById(deps.stores.mysql, params.id);
      if (!user) throw notFound(`user ${params.id}`);
      res.json({ user_id: user.user_id, name: user.name, email: user.email, phone: user.phone, role: user.role });
    }),
  );
  return r;
}
