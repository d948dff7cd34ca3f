/** The access log (pino-http): a request id on every answer and one short line per request, at a level that
 * says whether anyone needs to look at it. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';
import pinoHttp from 'pino-http';
import type { LevelWithSilent } from 'pino';
import { logger } from '../lib/logger';

/** Marks an answer that is expected in bulk (a flash sale's sold-out refusals): logged at debug. */
export function quietAccessLog(res: Response): void {
  res.locals.quietAccessLog = true;
}

/**
 * A 503 (a store down, load shed) is the API working as designed: info; the store's fault is logged at warn once
 * per interval (stores/errors.ts), so an outage under load is no log storm. A successful read (GET/HEAD, 2xx/3xx)
 * and an answer marked quiet are logged at debug: writing a line per catalog read was a tenth of the API's CPU
 * under load (issue 12's profile), and /metrics counts them anyway. LOG_LEVEL=debug shows them.
 */
export function accessLogLevel(req: IncomingMessage, res: ServerResponse, err?: Error): LevelWithSilent {
  if ((res as Partial<Response>).locals?.quietAccessLog === true) return 'debug';
  if (res.statusCode === 503) return 'info';
  if (err || res.statusCode >= 500) return 'error';
  if (res.statusCode >= 400) return 'warn';
  return req.method === 'GET' || req.method === 'HEAD' ? 'debug' : 'info';
}

export function accessLog() {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
    // One short line per request: who asked what and the answer, not every header (serializing and redacting
    // them was most of the cost of a logged request, issue 12's profile).
    serializers: {
      req: (req: {
        id: unknown;
        method: string;
        url: string;
        remoteAddress?: string;
        headers: Record<string, unknown>;
      }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
        remoteAddress: req.remoteAddress,
        userAgent: req.headers['user-agent'],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: accessLogLevel,
  });
}
