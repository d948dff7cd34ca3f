/**
 * Every router of the API, in mount order. A new module adds its `(deps) => Router` here.
 */
import type { Router } from 'express';
import type { ApiDeps } from './deps';
import { authRouter } from './routes/auth';
import { healthRouter } from './routes/health';
import { ordersRouter } from './routes/orders';
import { cartsRouter } from './routes/carts';
import { usersRouter } from './routes/users';
import { itemsRouter } from './routes/items';
import { searchRouter } from './routes/search';
import { adminReportsRouter } from './routes/admin-reports';
import { recommendationsRouter } from './routes/recommendations';
import { notificationsRouter } from './routes/notifications';
import { addressesRouter } from './routes/addresses';
import { supplierOrdersRouter } from './routes/supplier-orders';
import { adminOrdersRouter } from './routes/admin-orders';
import { adminOrderActionsRouter } from './routes/admin-order-actions';

export const ROUTERS: ((deps: ApiDeps) => Router)[] = [
  healthRouter,
  authRouter,
  ordersRouter,
  cartsRouter,
  usersRouter,
  itemsRouter,
  searchRouter,
  adminReportsRouter,
  recommendationsRouter,
  notificationsRouter,
  addressesRouter,
  supplierOrdersRouter,
  adminOrdersRouter,
  adminOrderActionsRouter,
];
