/**
 * The catalog (seed: Inbound and Item services): POST /items, GET /items/{id}, PUT /items/{id},
 * POST /items/bulk, GET /suppliers/{id}/inventory. Reads are public; writes need a supplier (its own items)
 * or an admin.
 */
import { RequestHandler, Router } from 'express';
import type { ApiDeps } from '../deps';
import { requireApprovedSupplierOrAdmin, requireRole, requireSelfOrAdmin } from '../auth';
import { badRequest } from '../errors';
import { z } from '../openapi';
import { Id, Money } from '../schemas';
import { route } from '../validate';
import { CatalogService } from '../../catalog/service';
import {
  ATTRIBUTE_KEY,
  MAX_ATTRIBUTES,
  MAX_ATTRIBUTE_VALUE,
  MAX_IMAGES,
  MAX_IMAGE_URL,
  MAX_STOCK,
} from '../../catalog/model';
import { recordItemEvent } from '../../analytics/publish';
import { catalogCacheHeaders } from '../cache-headers';

// Every rule is a JSON-schema keyword (pattern, lengths, maxProperties), so the OpenAPI document says
// exactly what is accepted: schema-valid input is never refused for a reason the document hides.
// A line of text: no control characters, at least one visible character.
const LINE = /^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$/;
// Free text: newlines and tabs allowed, other control characters not.
const TEXT = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;
const Text = (max: number) =>
  z.string().min(1).max(max, { abort: true }).regex(LINE, 'visible characters, no control characters');
const Name = Text(255);
const Category = Text(255);
const Description = z.string().max(10_000, { abort: true }).regex(TEXT, 'no control characters').nullable();
const Stock = z.number().int().min(0).max(MAX_STOCK);
const Attributes = z
  .record(
    z.string().regex(ATTRIBUTE_KEY, 'attribute names are letters, digits, _ - and spaces, starting with a letter'),
    z.string().max(MAX_ATTRIBUTE_VALUE, { abort: true }).regex(TEXT, 'no control characters'),
  )
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`)
  .openapi('ItemAttributes', {
    example: { brand: 'Sony', resolution: '4K' },
    maxProperties: MAX_ATTRIBUTES,
    description: `at most ${MAX_ATTRIBUTES}; names match ${ATTRIBUTE_KEY.source} (no $, no dots)`,
    propertyNames: { pattern: ATTRIBUTE_KEY.source },
  } as never);

// An absolute http(s) URL of printable ASCII: a host, an optional port, then anything printable.
const IMAGE_URL = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][\x21-\x7e]*)?$/;
const Images = z
  .array(z.string().max(MAX_IMAGE_URL).regex(IMAGE_URL, 'an http or https URL'))
  .max(MAX_IMAGES)
  .openapi({
    description: `up to ${MAX_IMAGES} picture URLs (http/https), in display order`,
    example: ['https://cdn.example.com/tv-front.jpg'],
  });

/** zod drops an own `__proto__` key silently (safe); this says so instead, for any depth of the body. */
function hasProtoKey(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object' || depth > 5) return false;
  if (Object.prototype.hasOwnProperty.call(v, '__proto__')) return true;
  return Object.values(v as object).some((x) => hasProtoKey(x, depth + 1));
}
const refuseProtoKeys: RequestHandler = (req, _res, next) =>
  next(hasProtoKey(req.body) ? badRequest('__proto__ is not a valid name') : undefined);

const ItemFields = {
  item_id: Id.optional().openapi({ description: 'chosen by the caller, or generated' }),
  name: Name,
  category: Category,
  description: Description.optional(),
  price: Money.openapi({ description: 'required: an item is never free by omission' }),
  stock: Stock.default(0),
  attributes: Attributes.default({}),
  images: Images.default([]),
};
const CreateItem = z
  .object({
    ...ItemFields,
    supplier_id: Id.optional().openapi({ description: 'admins only: the supplier the item belongs to' }),
  })
  .strict()
  .openapi('CreateItemRequest');
const UpdateItem = z
  .object({
    price: Money.optional(),
    stock: Stock.optional().openapi({ description: 'the new absolute stock level (a restock)' }),
    name: Name.optional(),
    category: Category.optional(),
    description: Description.optional(),
    attributes: Attributes.optional().openapi({ description: 'replaces all attributes' }),
    images: Images.optional().openapi({ description: 'replaces all images' }),
    listed: z.boolean().optional().openapi({
      description:
        'false delists the item: it leaves search and new orders are refused (409 item_unlisted); old orders still name it. true lists it again.',
    }),
  })
  .strict()
  .openapi('UpdateItemRequest');
const RestockLine = z.object({ item_id: Id, stock: Stock.optional(), price: Money.optional() }).strict().openapi({
  description: 'sets the stock level (absolute), the price, or both; neither only checks the item is yours',
});

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
    images: z.array(z.string()),
    listed: z.boolean(),
    updated_at: z.string(),
  })
  .openapi('Item');
const Inventory = z
  .object({
    supplier_id: z.string(),
    items: z.array(z.object({ item_id: z.string(), name: z.string(), price: z.number(), stock: z.number().int() })),
  })
  .openapi('SupplierInventory');
const pathId = Id.openapi({ param: { name: 'id', in: 'path' } });
const Params = z.object({ id: pathId }).strict();
const Page = z
  .object({
    limit: z
      .string()
      .regex(/^(1000|[1-9][0-9]{0,2})$/, '1 to 1000')
      .transform(Number)
      .optional(),
    offset: z
      .string()
      .regex(/^[0-9]{1,6}$/, '0 to 999999')
      .transform(Number)
      .optional(),
  })
  .strict();

export function itemsRouter(deps: ApiDeps): Router {
  const r = Router();
  const catalog = new CatalogService(deps.stores.mysql, deps.stores.mongo.db(), deps.stores.redis, {
    cacheTtlMs: deps.cfg.ITEM_CACHE_TTL,
    viewTtlMs: deps.cfg.ITEM_VIEW_TTL,
  });
  const bulkMax = deps.cfg.ITEMS_BULK_MAX;
  const Bulk = z
    .object({
      supplier_id: Id.optional().openapi({ description: 'admins only' }),
      create: z.array(z.object(ItemFields).strict()).max(bulkMax).default([]),
      restock: z.array(RestockLine).max(bulkMax).default([]),
    })
    .strict()
    .openapi('BulkItemsRequest');
  const tags = ['catalog'];

  r.post(
    '/items',
    refuseProtoKeys,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/items',
        summary: 'Add a new item (supplier: under its own id; admin: for any supplier)',
        tags,
        auth: true,
        roles: ['supplier', 'admin'],
        body: CreateItem,
        responses: {
          201: { description: 'created', schema: Item },
          404: { description: 'unknown supplier' },
          409: { description: 'item_exists' },
        },
      },
      async (req, { body }, res) => {
        const actor = requireApprovedSupplierOrAdmin(req);
        const supplierId = await catalog.resolveSupplier(actor, body.supplier_id);
        const { supplier_id: _ignored, ...item } = body;
        res.status(201).json(await catalog.create(item, supplierId));
      },
    ),
  );

  r.post(
    '/items/bulk',
    refuseProtoKeys,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/items/bulk',
        summary: `Create up to ${bulkMax} items and restock up to ${bulkMax} in one request, all or nothing`,
        tags,
        auth: true,
        roles: ['supplier', 'admin'],
        body: Bulk,
        responses: {
          200: {
            description: 'every line applied',
            schema: z
              .object({
                created: z.array(Item),
                restocked: z.array(z.object({ item_id: z.string(), stock: z.number().int(), price: z.number() })),
              })
              .openapi('BulkItemsResult'),
          },
          403: { description: "a restock line names another supplier's item" },
          404: { description: 'item_not_found: a restock line names an unknown item (details.item_ids)' },
          409: {
            description: 'item_exists: a create line names a taken id; duplicate_item: two lines name the same item',
          },
        },
      },
      async (req, { body }, res) => {
        const actor = requireApprovedSupplierOrAdmin(req);
        const supplierId = await catalog.resolveSupplier(actor, body.supplier_id);
        res.json(await catalog.bulk(body.create, body.restock, supplierId, actor));
      },
    ),
  );

  r.get(
    '/items/:id',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/items/:id',
        summary:
          'An item: MySQL price and stock, MongoDB attributes (an item_view analytics event); ETag, 304 on If-None-Match',
        tags,
        params: Params,
        responses: { 200: { description: 'the item', schema: Item }, 404: { description: 'no such item' } },
      },
      async (req, { params }, res) => {
        const item = await catalog.get(params.id);
        await recordItemEvent(deps.stores.mysql, 'item_view', req.principal?.userId ?? null, item.item_id, {
          category: item.category,
        });
        catalogCacheHeaders(res, deps.cfg.CATALOG_MAX_AGE); // with Express's ETag: If-None-Match answers 304
        res.json(item);
      },
    ),
  );

  r.put(
    '/items/:id',
    refuseProtoKeys,
    route(
      deps.registry,
      {
        method: 'put',
        path: '/items/:id',
        summary:
          'Change price, stock (units on hand), name, description, category, attributes, images, or list/delist the item',
        tags,
        auth: true,
        roles: ['supplier', 'admin'],
        params: Params,
        body: UpdateItem,
        responses: {
          200: { description: 'the item after the change', schema: Item },
          404: { description: 'no such item' },
        },
      },
      async (req, { params, body }, res) => {
        const actor = requireApprovedSupplierOrAdmin(req);
        res.json(await catalog.update(params.id, body, actor));
      },
    ),
  );

  r.delete(
    '/items/:id',
    route(
      deps.registry,
      {
        method: 'delete',
        path: '/items/:id',
        summary:
          'Delete an item that was never ordered (its supplier or an admin); an ordered item is delisted instead',
        tags,
        auth: true,
        roles: ['supplier', 'admin'],
        params: Params,
        responses: {
          204: { description: 'deleted: gone from the catalog and, within seconds, from search' },
          404: { description: 'no such item' },
          409: { description: 'item_ordered: some order took this item; delist it with PUT {"listed": false}' },
        },
      },
      async (req, { params }, res) => {
        const actor = requireRole(req, 'supplier', 'admin');
        await catalog.remove(params.id, actor);
        res.status(204).end();
      },
    ),
  );

  r.get(
    '/suppliers/:id/inventory',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/suppliers/:id/inventory',
        summary: "A supplier's items and their stock (that supplier or an admin)",
        tags,
        auth: true,
        roles: ['supplier', 'admin'],
        selfParam: 'id',
        params: Params,
        query: Page,
        responses: {
          200: { description: 'the inventory, by item id', schema: Inventory },
          404: { description: 'no such supplier' },
        },
      },
      async (req, { params, query }, res) => {
        requireRole(req, 'supplier', 'admin');
        requireSelfOrAdmin(req, params.id);
        res.json(await catalog.supplierInventory(params.id, query.limit ?? 1000, query.offset ?? 0));
      },
    ),
  );
  return r;
}
