/**
 * GET /users/{id}/recommendations (seed shape: [{item_id, name, price}]): the user or an admin. Served from
 * the model the analytics consumer keeps in Redis (recommendations/service.ts), stock checked in MySQL.
 */
import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireSelfOrAdmin } from '../auth';
import { notFound } from '../errors';
import { z } from '../openapi';
import { Id } from '../schemas';
import { route } from '../validate';
import { RecommendationService } from '../../recommendations/service';
import { findUserById } from '../../users/repository';

const Params = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) }).strict();
const Query = z
  .object({
    limit: z
      .string()
      .regex(/^(50|[1-4][0-9]|[1-9])$/, '1 to 50')
      .transform(Number)
      .optional()
      .openapi({ description: '1 to 50 (default 10)' }),
  })
  .strict();
const Recommendations = z
  .array(z.object({ item_id: z.string(), name: z.string(), price: z.number() }))
  .openapi('Recommendations');

export function recommendationsRouter(deps: ApiDeps): Router {
  const r = Router();
  const recs = new RecommendationService(deps.stores.redis, deps.stores.mysql, deps.cfg.ANALYTICS_REDIS_PREFIX);
  r.get(
    '/users/:id/recommendations',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/users/:id/recommendations',
        summary:
          "Items for this user: bought together with / by the buyers of what they recently bought, carted or viewed; then their categories' and overall best sellers. Never what they bought or what is out of stock",
        tags: ['recommendations'],
        auth: true,
        selfParam: 'id',
        params: Params,
        query: Query,
        responses: {
          200: { description: 'best first', schema: Recommendations },
          404: { description: 'no such user (admins)' },
        },
      },
      async (req, { params, query }, res) => {
        const p = requireSelfOrAdmin(req, params.id);
        if (p.userId !== params.id && !(await findUserById(deps.stores.mysql, params.id)))
          throw notFound(`user ${params.id}`);
        res.json(await recs.forUser(params.id, query.limit ?? 10));
      },
    ),
  );
  return r;
}
