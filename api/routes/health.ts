import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { z } from '../openapi';
import { registerRoute } from '../validate';
import { requireRole } from '../auth';
import { logger } from '../../lib/logger';

/** Liveness (the process answers), readiness (every store answers; 503 naming the ones that do not, without
 * their errors, which go to the log), and Prometheus metrics (an admin token: they are business figures). */
export function healthRouter(deps: ApiDeps): Router {
  const r = Router();
  const Health = z.object({ status: z.string() }).openapi('Health');
  registerRoute(deps.registry, {
    method: 'get',
    path: '/healthz',
    summary: 'The process is up',
    tags: ['operations'],
    responses: { 200: { description: 'up', schema: Health } },
  });
  registerRoute(deps.registry, {
    method: 'get',
    path: '/readyz',
    summary: 'Every store answers',
    tags: ['operations'],
    responses: { 200: { description: 'ready' }, 503: { description: 'some store is down; `down` names them' } },
  });
  registerRoute(deps.registry, {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text format; admins: scrape with an admin token)',
    tags: ['operations'],
    roles: ['admin'],
    responses: { 200: { description: 'the metrics, in the Prometheus text format' } },
  });
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const stores = await deps.readiness();
    const down = Object.entries(stores)
      .filter(([, s]) => !s.ok)
      .map(([name]) => name);
    if (down.length) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(deps.cfg.RETRY_AFTER / 1000))));
      logger.warn({ stores }, 'not ready');
    }
    res.status(down.length ? 503 : 200).json({ status: down.length ? 'unavailable' : 'ready', down });
  });
  r.get('/metrics', async (req, res, next) => {
    try {
      if (!scrapeTokenMatches(req.headers.authorization, deps.cfg.METRICS_TOKEN)) requireRole(req, 'admin');
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  });
  return r;
}

/** Prometheus's scrape credential (METRICS_TOKEN), compared in constant time. */
function scrapeTokenMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
