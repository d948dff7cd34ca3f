/**
 * The Express app: security headers, request ids and structured logs, body limits, metrics, the routers, and
 * the contract's error format for everything that goes wrong.
 */
import { randomUUID } from 'node:crypto';
import express, { Express } from 'express';
import helmet from 'helmet';
import pinoHttp from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import { logger } from '../lib/logger';
import { authenticate } from './auth';
import type { ApiDeps } from './deps';
import { errorHandler, requireJsonBody, routeNotFound, unavailableStores } from './errors';
import { shedWhenOverloaded } from './load-shedding';
import { answerKnownSoldOut } from './routes/orders';
import { scrapeWithToken } from './metrics';
import { methodNotAllowed, optionsHandler } from './methods';
import { buildDocument } from './openapi';
import { paymentsRouter } from './routes/payments';
import { ROUTERS } from './routers';
import { traceRequests } from './tracing';

export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.cfg.TRUST_PROXY); // whose X-Forwarded-For to believe (TRUST_PROXY)
  app.set('query parser', 'simple'); // no nested objects from ?a[b]=c: query values are strings or arrays
  app.use(helmet());
  app.use(traceRequests());
  app.use(
    pinoHttp({
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
      // A 503 (a store down, load shed) is the API working as designed: info, like a 409; the store's fault is
      // logged at warn once per interval (stores/errors.ts), so an outage under load is no log storm.
      // A successful read (GET/HEAD, 2xx/3xx) is logged at debug: writing a line per catalog read was a tenth of
      // the API's CPU under load (issue 12's profile), and /metrics counts them anyway. LOG_LEVEL=debug shows them.
      customLogLevel: (req, res, err) =>
        res.statusCode === 503
          ? 'info'
          : err || res.statusCode >= 500
            ? 'error'
            : res.statusCode >= 400
              ? 'warn'
              : req.method === 'GET' || req.method === 'HEAD'
                ? 'debug'
                : 'info',
    }),
  );
  app.use(deps.metrics.middleware());
  app.use(optionsHandler(deps.registry));

  // The webhook verifies a signature over the raw body, so it is mounted before the JSON parser.
  app.use(paymentsRouter(deps));
  app.use(express.json({ limit: deps.cfg.BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(requireJsonBody);
  // An order for an item Redis knows to be sold out gets its 409 first (the cheapest true answer, even while
  // shedding); other new orders are refused at once while the MySQL pool or the event loop is saturated.
  app.post('/orders', answerKnownSoldOut(deps), shedWhenOverloaded(deps.load));
  app.post('/users/:id/cart/checkout', shedWhenOverloaded(deps.load));
  app.get('/metrics', scrapeWithToken(deps.metrics, deps.cfg.METRICS_TOKEN));
  app.use(authenticate(deps.tokens, deps.authStates));

  for (const router of ROUTERS) app.use(router(deps));

  const document = buildDocument(deps.registry);
  app.get('/openapi.json', (_req, res) => void res.json(document));
  app.use('/docs', helmet({ contentSecurityPolicy: false }), swaggerUi.serve, swaggerUi.setup(document));

  app.use(methodNotAllowed(deps.registry));
  app.use(routeNotFound);
  app.use(unavailableStores(deps.cfg.RETRY_AFTER));
  app.use(errorHandler);
  return app;
}
