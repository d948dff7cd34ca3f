/**
 * The Express app: security headers, request ids and structured logs, body limits, metrics, the routers, and
 * the contract's error format for everything that goes wrong.
 */
import express, { Express } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { accessLog } from './access-log';
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
  app.use(accessLog());
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
