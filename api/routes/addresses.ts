/** A user's saved shipping addresses: the user themself or an admin. */
import { Request, Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireSelfOrAdmin } from '../auth';
import { ApiError, notFound } from '../errors';
import { z } from '../openapi';
import { Id } from '../schemas';
import { route } from '../validate';
import { AddressSchema, SavedAddressSchema } from '../address';
import { addAddress, deleteAddress, listAddresses, MAX_ADDRESSES, TooManyAddresses } from '../../users/addresses';
import { findUserById } from '../../users/repository';

const pathId = (name: string) => Id.openapi({ param: { name, in: 'path' } });
const UserParams = z.object({ id: pathId('id') }).strict();
const AddressParams = z.object({ id: pathId('id'), aid: pathId('aid') }).strict();

export function addressesRouter(deps: ApiDeps): Router {
  const r = Router();
  const { mysql } = deps.stores;
  const tags = ['accounts'];

  /** The owner or an admin; for an admin, the user must exist. */
  async function owner(req: Request, userId: string): Promise<string> {
    const p = requireSelfOrAdmin(req, userId);
    if (p.userId !== userId && !(await findUserById(mysql, userId))) throw notFound(`user ${userId}`);
    return userId;
  }

  r.get(
    '/users/:id/addresses',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/:id/addresses',
        summary: "A user's saved shipping addresses, oldest first",
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        responses: {
          200: { description: 'the addresses', schema: z.array(SavedAddressSchema) },
          404: { description: 'no such user' },
        },
      },
      async (req, { params }, res) => {
        res.json(await listAddresses(mysql, await owner(req, params.id)));
      },
    ),
  );

  r.post(
    '/users/:id/addresses',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/users/:id/addresses',
        summary: `Save a shipping address (at most ${MAX_ADDRESSES}); orders can then name it by address_id`,
        tags,
        auth: true,
        selfParam: 'id',
        params: UserParams,
        body: AddressSchema,
        responses: {
          201: { description: 'saved', schema: SavedAddressSchema },
          404: { description: 'no such user' },
          409: { description: 'limit_reached' },
        },
      },
      async (req, { params, body }, res) => {
        try {
          res.status(201).json(await addAddress(mysql, await owner(req, params.id), body));
        } catch (err) {
          if (err instanceof TooManyAddresses) throw new ApiError(409, 'limit_reached', err.message);
          throw err;
        }
      },
    ),
  );

  r.delete(
    '/users/:id/addresses/:aid',
    route(
      deps.registry,
      {
        method: 'delete',
        path: '/users/:id/addresses/:aid',
        summary: 'Delete a saved address (orders keep their own copy)',
        tags,
        auth: true,
        selfParam: 'id',
        params: AddressParams,
        responses: { 204: { description: 'deleted' }, 404: { description: 'no such address for this user' } },
      },
      async (req, { params }, res) => {
        if (!(await deleteAddress(mysql, await owner(req, params.id), params.aid)))
          throw notFound(`address ${params.aid}`);
        res.status(204).end();
      },
    ),
  );
  return r;
}
