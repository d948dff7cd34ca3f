/**
 * Search (seed: Search Service): GET /search over the items index, and POST /search/clicks. Both publish
 * analytics events (search/analytics.ts). Public; a bearer token, when sent, names the user in the events.
 * Results are shared from Redis for SEARCH_CACHE_TTL (search/result-cache.ts).
 */
import { Router } from 'express';
import rateLimit, { ipKeyGenerator } from 'express-rate-limit';
import type { ApiDeps } from '../deps';
import { ApiError, badRequest, errorBody } from '../errors';
import { z } from '../openapi';
import { Id } from '../schemas';
import { route } from '../validate';
import { classifyStoreError, logBestEffortFailure } from '../../stores/errors';
import { sharedStore } from '../rate-limits';
import { logger } from '../../lib/logger';
import { recordAnalytics } from '../../search/analytics';
import { SearchResultCache } from '../../search/result-cache';
import { catalogCacheHeaders } from '../cache-headers';
import {
  checkPage,
  checkText,
  parseFilter,
  SearchInputError,
  SEARCH_LIMITS,
  searchItems,
  SORTS,
} from '../../search/query';

const Price = z
  .string()
  .regex(/^\d{1,8}(\.\d{1,2})?$/, 'a price such as 10 or 899.99 (not negative)')
  .transform(Number);
// Every rule is in the document (patterns, lengths), so schema-valid input is never refused for a hidden reason.
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const FILTER_ONE = `[A-Za-z][A-Za-z0-9_ -]{0,63}:[^,\\u0000-\\u001f\\u007f]{0,${SEARCH_LIMITS.maxFilterValue - 1}}[^,\\s\\u0000-\\u001f\\u007f]`;
const FILTER = new RegExp(`^${FILTER_ONE}(,${FILTER_ONE}){0,${SEARCH_LIMITS.maxFilters - 1}}$`);
const SearchParams = z
  .object({
    query: z
      .string()
      .max(SEARCH_LIMITS.maxQueryLength, { abort: true })
      .regex(NO_CONTROL, 'no control characters')
      .optional()
      .openapi({ description: 'words to find in name, description, category and attributes' }),
    sort: z.enum(SORTS).optional().openapi({ description: 'relevance (default), price (ascending) or -price' }),
    filter: z
      .string()
      .max(2000, { abort: true })
      .regex(FILTER, `up to ${SEARCH_LIMITS.maxFilters} field:value pairs, comma-separated`)
      .optional()
      .openapi({
        description:
          'comma-separated field:value; field = category or an attribute name (brand:Sony); the same field twice means either value. Not price, stock or other item fields',
        example: 'category:Electronics,brand:Sony',
      }),
    min_price: Price.optional(),
    max_price: Price.optional().openapi({ description: 'below min_price: no results' }),
    limit: z
      .string()
      .regex(/^(100|[1-9][0-9]?)$/, `1 to ${SEARCH_LIMITS.maxLimit}`)
      .transform(Number)
      .optional()
      .openapi({ description: `1 to ${SEARCH_LIMITS.maxLimit} (default ${SEARCH_LIMITS.defaultLimit})` }),
    offset: z
      .string()
      .regex(/^[0-9]{1,4}$/, `0 to ${SEARCH_LIMITS.maxWindow - 1}`)
      .transform(Number)
      .optional()
      .openapi({
        description: `0 to ${SEARCH_LIMITS.maxWindow - 1}; results end at ${SEARCH_LIMITS.maxWindow} (a page reaching past it is cut short)`,
      }),
  })
  .strict();
const Hit = z
  .object({
    item_id: z.string(),
    name: z.string(),
    price: z.number(),
    category: z.string(),
    supplier_id: z.string().nullable(),
    attributes: z.record(z.string(), z.string()),
    images: z.array(z.string()).openapi({ description: 'picture URLs' }),
  })
  .openapi('SearchHit');
const Click = z
  .object({ query: z.string().max(SEARCH_LIMITS.maxQueryLength), item_id: Id })
  .strict()
  .openapi('SearchClickRequest');

/** The engine is down, overloaded or slow: a search fault as stores/errors.ts tells them (the client's error
 * names, a 429/502/503/504 answer, batching.ts's busy error), or any other 5xx answer of the engine. */
function engineUnavailable(err: unknown): boolean {
  if (classifyStoreError(err)?.store === 'search') return true;
  const status = (err as { meta?: { statusCode?: number } } | undefined)?.meta?.statusCode;
  return status !== undefined && status >= 500;
}

export function searchRouter(deps: ApiDeps): Router {
  const r = Router();
  const { mysql, search } = deps.stores;
  const results = new SearchResultCache(deps.stores.redis, deps.cfg.SEARCH_CACHE_TTL);
  const clickLimit = rateLimit({
    store: sharedStore(deps.stores.redis, deps.cfg, 'search-clicks'),
    passOnStoreError: true,
    windowMs: 60_000,
    limit: deps.cfg.RATE_LIMIT_SEARCH_CLICKS,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // Per user, else per address (IPv6 by /56 prefix, so one host cannot rotate addresses past the limit).
    keyGenerator: (req) => req.principal?.userId ?? `ip:${ipKeyGenerator(req.ip ?? '')}`,
    handler: (_req, res) =>
      void res.status(429).json(errorBody('rate_limited', 'too many clicks in a minute; slow down')),
  });

  r.get(
    '/search',
    route(
      deps.registry,
      {
        method: 'get',
        path: '/search',
        summary: 'Search in-stock items: relevance or price order, category/attribute/price filters, paged',
        tags: ['search'],
        query: SearchParams,
        responses: {
          200: {
            description:
              'matching items; X-Total-Count has the total, exact when X-Total-Count-Relation is eq, else a floor (gte: the count stopped at SEARCH_EXACT_TOTAL_UP_TO, 1,000 by default)',
            schema: z.array(Hit).openapi('SearchResults'),
          },
          503: { description: 'search_unavailable: the search engine does not answer' },
        },
      },
      async (req, { query }, res) => {
        let q;
        try {
          const offset = query.offset ?? 0;
          // The hard cap: nothing beyond result 10,000 (the engines' max_result_window), whatever the page.
          const limit = Math.min(query.limit ?? SEARCH_LIMITS.defaultLimit, SEARCH_LIMITS.maxWindow - offset);
          checkPage(limit, offset);
          if (query.query !== undefined) checkText(query.query);
          q = {
            text: query.query,
            sort: query.sort ?? 'relevance',
            ...parseFilter(query.filter),
            minPrice: query.min_price,
            maxPrice: query.max_price,
            limit,
            offset,
          } as const;
        } catch (err) {
          if (err instanceof SearchInputError) throw badRequest(err.message);
          throw err;
        }
        let result;
        try {
          result = await results.get(q, () => searchItems(search, q, deps.cfg.SEARCH_EXACT_TOTAL_UP_TO));
        } catch (err) {
          if (engineUnavailable(err))
            throw new ApiError(503, 'search_unavailable', 'search is unavailable right now; try again shortly', {
              store: 'search',
            });
          // The engine's own messages name indexes and exception types: logged here, never sent to the client.
          logger.warn({ err }, 'the search engine refused a query');
          const status = (err as { statusCode?: unknown }).statusCode;
          if (typeof status === 'number' && status >= 400 && status < 500)
            throw new ApiError(400, 'search_rejected', 'the search engine cannot run this query; simplify it');
          throw new Error('search engine error', { cause: err });
        }
        try {
          await recordAnalytics(mysql, {
            event_type: 'search',
            user_id: req.principal?.userId ?? null,
            search_query: query.query ?? '',
            clicked_items: [],
            item_ids: result.hits.slice(0, 20).map((h) => h.item_id),
            result_count: result.total,
          });
        } catch (err) {
          // The shopper still gets the results; the loss is logged loudly, not silent.
          logBestEffortFailure(err, 'search analytics event could not be written', { query: query.query }, 'error');
        }
        res.setHeader('X-Total-Count', String(result.total));
        // "gte": the engine stopped counting at SEARCH_EXACT_TOTAL_UP_TO ("1,000+ results"); pages go on anyway.
        res.setHeader('X-Total-Count-Relation', result.totalIsExact ? 'eq' : 'gte');
        catalogCacheHeaders(res, deps.cfg.CATALOG_MAX_AGE); // with Express's ETag: If-None-Match answers 304
        res.json(result.hits);
      },
    ),
  );

  r.post(
    '/search/clicks',
    clickLimit,
    route(
      deps.registry,
      {
        method: 'post',
        path: '/search/clicks',
        summary: 'Report a click on a search result (an analytics event)',
        tags: ['search'],
        body: Click,
        responses: {
          202: { description: 'recorded', schema: z.object({ event_id: z.string() }) },
          404: { description: 'no such item' },
          429: { description: 'too many clicks' },
        },
      },
      async (req, { body }, res) => {
        const row: { item_id: string } | undefined = await mysql('items')
          .select('item_id')
          .where({ item_id: body.item_id })
          .first();
        if (!row) throw new ApiError(404, 'item_not_found', `unknown item: ${body.item_id}`);
        const event = await recordAnalytics(
          mysql,
          {
            event_type: 'search_click',
            user_id: req.principal?.userId ?? null,
            search_query: body.query,
            clicked_items: [row.item_id],
          },
          { wait: true },
        );
        res.status(202).json({ event_id: event.event_id });
      },
    ),
  );
  return r;
}
