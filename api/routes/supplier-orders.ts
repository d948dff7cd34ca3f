/** A seller's orders to fulfil: GET /suppliers/{id}/orders (that seller or an admin). */
import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireRole, requireSelfOrAdmin } from '../auth';
import { notFound } from '../errors';
import { z } from '../openapi';
import { Id, ShipmentSchema } from '../schemas';
import { route } from '../validate';
import { AddressSchema } from '../address';
import { listSupplierOrders } from '../../orders/supplier-orders';
import { findUserById } from '../../users/repository';

const STATUSES = ['created', 'placed', 'in_transit', 'delivered', 'canceled'] as const;
const Params = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) }).strict();
const Query = z
  .object({
    status: z
      .enum(STATUSES)
      .optional()
      .openapi({ description: 'placed: the orders none of whose sellers has shipped yet' }),
    to_ship: z.enum(['true', 'false']).optional().openapi({
      description:
        'true: the placed or in-transit orders whose lines of this seller have not left yet (an order of several sellers is shipped by each)',
    }),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .max(200, { abort: true })
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional(),
  })
  .strict();
const SupplierOrder = z
  .object({
    order_id: z.string(),
    user_id: z.string(),
    status: z.enum(STATUSES),
    shipping_address: AddressSchema.nullable(),
    items: z
      .array(z.object({ item_id: z.string(), quantity: z.number().int(), price: z.number() }))
      .openapi({ description: "this seller's lines only" }),
    subtotal: z.number().openapi({ description: "the sum of this seller's lines" }),
    shipment: ShipmentSchema.nullable().openapi({ description: "this seller's shipment of the order, once shipped" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('SupplierOrder');
const Page = z
  .object({ orders: z.array(SupplierOrder), next_cursor: z.string().nullable() })
  .openapi('SupplierOrdersPage');

export function supplierOrdersRouter(deps: ApiDeps): Router {
  const r = Router();
  r.get(
    '/suppliers/:id/orders',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/suppliers/:id/orders',
        summary:
          "The live orders holding a seller's items, newest first, with that seller's lines only (archived orders, all delivered or canceled, are not listed)",
        tags: ['fulfilment'],
        auth: true,
        roles: ['supplier', 'admin'],
        selfParam: 'id',
        params: Params,
        query: Query,
        responses: { 200: { description: 'a page of orders', schema: Page }, 404: { description: 'no such supplier' } },
      },
      async (req, { params, query }, res) => {
        requireRole(req, 'supplier', 'admin');
        requireSelfOrAdmin(req, params.id);
        const user = await findUserById(deps.stores.mysql, params.id);
        if (!user || user.role !== 'supplier') throw notFound(`supplier ${params.id}`);
        res.json(
          await listSupplierOrders(deps.stores.mysql, user.user_id, { ...query, toShip: query.to_ship === 'true' }),
        );
      },
    ),
  );
  return r;
}
