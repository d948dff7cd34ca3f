/**
 * The Redis layout of the recommendation model (kept current by the analytics consumer, read per request):
 *   {p}recs:co:{item}            zset other item -> bought together / by the same user (score); capped
 *   {p}recs:cov:{item}           zset other item -> viewed together / clicked for the same query; capped
 *   {p}recs:u:{user}:bought      zset item -> last bought (ms); also the "never recommend" set
 *   {p}recs:u:{user}:viewed      zset item -> last viewed (ms)
 *   {p}recs:u:{user}:carted      zset item -> last added to the cart or wishlist (ms)
 *   {p}recs:u:{user}:cats        zset category -> interest
 *   {p}recs:u:{user}:qc:{hash}   zset item -> clicked (ms) for one query, briefly (co-clicks)
 *   {p}recs:pop / :pop:c:{cat}   zset item -> orders containing it, overall / per category
 */
import { createHash } from 'node:crypto';

export class RecsKeys {
  readonly coPrefix: string;
  readonly coViewPrefix: string;
  constructor(readonly prefix: string) {
    this.coPrefix = `${prefix}recs:co:`;
    this.coViewPrefix = `${prefix}recs:cov:`;
  }
  /** Bought together (same order) or by the same user. */
  co(itemId: string): string {
    return this.coPrefix + itemId;
  }
  /** Viewed one after the other, or clicked for the same query, by the same user. */
  coView(itemId: string): string {
    return this.coViewPrefix + itemId;
  }
  bought(userId: string): string {
    return `${this.prefix}recs:u:${userId}:bought`;
  }
  viewed(userId: string): string {
    return `${this.prefix}recs:u:${userId}:viewed`;
  }
  carted(userId: string): string {
    return `${this.prefix}recs:u:${userId}:carted`;
  }
  categories(userId: string): string {
    return `${this.prefix}recs:u:${userId}:cats`;
  }
  queryClicks(userId: string, normalizedQuery: string): string {
    const h = createHash('sha1').update(normalizedQuery).digest('hex').slice(0, 16);
    return `${this.prefix}recs:u:${userId}:qc:${h}`;
  }
  popular(category?: string): string {
    return category === undefined ? `${this.prefix}recs:pop` : `${this.prefix}recs:pop:c:${category}`;
  }
}
