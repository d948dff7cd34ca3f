/**
 * The catalog (seed: Inbound and Item services): POST /items, GET /items/{id}, PUT /items/{id},
 * POST /items/bulk, GET /suppliers/{id}/inventory. Reads are public; writes need a supplier (its own items)
 * or an admin.
 */
import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireRole, requireSelfOrAdmin } from '../auth';
import { badRequest } from '../errors';
import { z } from '../openapi';
import { Id, Money } from '../schemas';
import { route } from '../validate';
import { CatalogService } from '../../catalog/service';
import { ATTRIBUTE_KEY, MAX_ATTRIBUTES, MAX_ATTRIBUTE_VALUE, MAX_STOCK } from '../../catalog/model';

// eslint-disable-next-line no-control-regex
const noControl = (s: string) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s);
const Text = (max: number) => z.string().trim().min(1).max(max).refine(noControl, 'no control characters');
const Name = Text(255);
const Category = Text(255);
const Description = z.string().max(10_000).refine(noControl, 'no control characters').nullable();
const Stock = z.number().int().min(0).max(MAX_STOCK);
// zod drops an own `__proto__` key silently (safe); refusing it says so instead.
const noProtoKey = (v: unknown) => !(v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, '__proto__'));
const AttributeMap = z
  .record(z.string().regex(ATTRIBUTE_KEY, 'attribute names are letters, digits, _ - and spaces, starting with a letter'), z.string().max(MAX_ATTRIBUTE_VALUE).refine(noControl, 'no control characters'))
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`)
  .openapi('ItemAttributes', { example: { brand: 'Sony', resolution: '4K' } });
const Attributes = z.unknown().refine(noProtoKey, '__proto__ is not an attribute name').pipe(AttributeMap);

const ItemFields = {
  item_id: Id.optional().openapi({ description: 'chosen by the caller, or generated' }),
  name: Name,
  category: Category,
  description: Description.optional(),
  price: Money.default(0),
  stock: Stock.default(0),
  attributes: Attributes.default({}),
};
const CreateItem = z
  .object({ ...ItemFields, supplier_id: Id.optional().openapi({ description: 'admins only: the supplier the item belongs to' }) })
  .strict()
  .openapi('CreateItemRequest');
const UpdateItem = z
  .object({ price: Money.optional(), stock: Stock.optional().openapi({ description: 'the new absolute stock level (a restock)' }), name: Name.optional(), category: Category.optional(), description: Description.optional(), attributes: Attributes.optional().openapi({ description: 'replaces all attributes' }) })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'nothing to change')
  .openapi('UpdateItemRequest');
const RestockLine = z
  .object({ item_id: Id, stock: Stock.optional(), price: Money.optional() })
  .strict()
  .refine((r) => r.stock !== undefined || r.price !== undefined, 'a restock line sets stock, price or both');

const Item = z
  .object({
    item_id: z.string(),
    supplier_id: z.string().nullable(),
    name: z.string(),
    category: z.string(),
    description: z.string().nullable(),
    price: z.number(),
    stock: z.number().int(),
    attributes: z.record(z.string(), z.string()),
    updated_at: z.string(),
  })
  .openapi('Item');
const Inventory = z
  .object({ supplier_id: z.string(), items: z.array(z.object({ item_id: z.string(), name: z.string(), price: z.number(), stock: z.number().int() })) })
  .openapi('SupplierInventory');
const pathId = Id.openapi({ param: { name: 'id', in: 'path' } });
const Params = z.object({ id: pathId }).strict();
const Digits = (max: number) => z.string().regex(/^\d{1,9}$/, 'a whole number').transform(Number).refine((n) => n <= max, `at most ${max}`);
const Page = z.object({ limit: Digits(1000).optional(), offset: Digits(1_000_000).optional() }).strict();

export function itemsRouter(deps: ApiDeps): Router {
  const r = Router();
  const catalog = new CatalogService(deps.stores.mysql, deps.stores.mongo.db(), deps.stores.redis, { cacheTtlMs: deps.cfg.ITEM_CACHE_TTL });
  const bulkMax = deps.cfg.ITEMS_BULK_MAX;
  const Bulk = z
    .object({ supplier_id: Id.optional().openapi({ description: 'admins only' }), create: z.array(z.object(ItemFields).strict()).max(bulkMax).default([]), restock: z.array(RestockLine).max(bulkMax).default([]) })
    .strict()
    .refine((b) => b.create.length + b.restock.length >= 1 && b.create.length + b.restock.length <= bulkMax, `1 to ${bulkMax} lines in all`)
    .openapi('BulkItemsRequest');
  const tags = ['catalog'];

  r.post(
    '/items',
    route(deps.registry, { method: 'post', path: '/items', summary: 'Add a new item (supplier: under its own id; admin: for any supplier)', tags, auth: true, body: CreateItem, responses: { 201: { description: 'created', schema: Item }, 404: { description: 'unknown supplier' }, 409: { description: 'item_exists' } } }, async (req, { body }, res) => {
      const actor = requireRole(req, 'supplier', 'admin');
      const supplierId = await catalog.resolveSupplier(actor, body.supplier_id);
      const { supplier_id: _ignored, ...item } = body;
      res.status(201).json(await catalog.create(item, supplierId));
    }),
  );

  r.post(
    '/items/bulk',
    route(
      deps.registry,
      {
        method: 'post',
        path: '/items/bulk',
        summary: `Create and restock up to ${bulkMax} items in one request, all or nothing`,
        tags,
        auth: true,
        body: Bulk,
        responses: {
          200: { description: 'every line applied', schema: z.object({ created: z.array(Item), restocked: z.array(z.object({ item_id: z.string(), stock: z.number().int(), price: z.number() })) }).openapi('BulkItemsResult') },
          403: { description: 'a restock line names another supplier\'s item' },
          404: { description: 'item_not_found: a restock line names an unknown item (details.item_ids)' },
          409: { description: 'item_exists: a create line names a taken id' },
        },
      },
      async (req, { body }, res) => {
        const actor = requireRole(req, 'supplier', 'admin');
        const supplierId = await catalog.resolveSupplier(actor, body.supplier_id);
        res.json(await catalog.bulk(body.create, body.restock, supplierId, actor));
      },
    ),
  );

  r.get(
    '/items/:id',
    route(deps.registry, { method: 'get', path: '/items/:id', summary: 'An item: MySQL price and stock, MongoDB attributes', tags, params: Params, responses: { 200: { description: 'the item', schema: Item }, 404: { description: 'no such item' } } }, async (_req, { params }, res) => {
      res.json(await catalog.get(params.id));
    }),
  );

  r.put(
    '/items/:id',
    route(deps.registry, { method: 'put', path: '/items/:id', summary: 'Change price, stock (absolute), name, description, category or attributes', tags, auth: true, params: Params, body: UpdateItem, responses: { 200: { description: 'the item after the change', schema: Item }, 404: { description: 'no such item' } } }, async (req, { params, body }, res) => {
      const actor = requireRole(req, 'supplier', 'admin');
      res.json(await catalog.update(params.id, body, actor));
    }),
  );

  r.get(
    '/suppliers/:id/inventory',
    route(deps.registry, { method: 'get', path: '/suppliers/:id/inventory', summary: "A supplier's items and their stock (that supplier or an admin)", tags, auth: true, params: Params, query: Page, responses: { 200: { description: 'the inventory, by item id', schema: Inventory }, 404: { description: 'no such supplier' } } }, async (req, { params, query }, res) => {
      requireRole(req, 'supplier', 'admin');
      requireSelfOrAdmin(req, params.id);
      const limit = query.limit ?? 1000;
      if (limit < 1) throw badRequest('limit is 1 to 1000');
      res.json(await catalog.supplierInventory(params.id, limit, query.offset ?? 0));
    }),
  );
  return r;
}
