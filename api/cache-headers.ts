import type { Response } from 'express';

/**
 * Catalog reads (GET /items/{id}, GET /search) are the same for everyone (a token only names the user in the
 * analytics event), so any cache may keep them for CATALOG_MAX_AGE; after that a client revalidates with the
 * ETag Express computes from the body (304 when nothing changed). Stock shown may be that much old; orders
 * always reserve in MySQL.
 */
export function catalogCacheHeaders(res: Response, maxAgeMs: number): void {
  res.setHeader('Cache-Control', maxAgeMs > 0 ? `public, max-age=${Math.ceil(maxAgeMs / 1000)}` : 'no-cache');
}
