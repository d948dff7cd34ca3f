import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { z } from '../openapi';
import { registerRoute } from '../validate';

/** Liveness (the process answers) and readiness (every store answers; 503 naming the ones that do not). */
export function healthRouter(deps: ApiDeps): Router {
  const r = Router();
  const Health = z.object({ status: z.string() }).openapi('Health');
  registerRoute(deps.registry, { method: 'get', path: '/healthz', summary: 'The process is up', tags: ['operations'], responses: { 200: { description: 'up', schema: Health } } });
  registerRoute(deps.registry, {
    method: 'get',
    path: '/readyz',
    summary: 'Every store answers',
    tags: ['operations'],
    responses: { 200: { description: 'ready' }, 503: { description: 'some store is down; `down` names them' } },
  });
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const stores = await deps.readiness();
    const down = Object.entries(stores).filter(([, s]) => !s.ok).map(([name]) => name);
    if (down.length) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(deps.cfg.RETRY_AFTER / 1000))));
    res.status(down.length ? 503 : 200).json({ status: down.length ? 'unavailable' : 'ready', down, stores });
  });
  r.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return r;
}
