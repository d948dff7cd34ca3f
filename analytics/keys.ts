/**
 * The Redis layout of the real-time reports: one set of keys per minute bucket (minutes since the epoch),
 * expiring after ANALYTICS_BUCKET_TTL. Every key starts with ANALYTICS_REDIS_PREFIX (one environment, or one
 * test, per prefix).
 *   {p}seen:{event_id}              the dedupe marker (SET NX, written in the same script as the counts)
 *   {p}m:{minute}:units|rev         zset item -> units / revenue in cents, placed orders
 *   {p}m:{minute}:cunits|crev       zset item -> units / value in cents, canceled orders
 *   {p}m:{minute}:cat:units|rev|cunits|crev   the same per category
 *   {p}m:{minute}:q / :qz           zset normalized query -> searches / searches with no result
 *   {p}m:{minute}:events            hash event type -> count
 *   {p}m:{minute}:funnel[:c:{cat}]  hash stage (view, cart, wishlist, order) -> events
 *   {p}m:{minute}:fu:{stage}[:c:{cat}]  HyperLogLog of the users at that stage
 */
export type SalesMetric = 'units' | 'rev' | 'cunits' | 'crev';
export const FUNNEL_STAGES = ['view', 'cart', 'wishlist', 'order'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

export class ReportKeys {
  constructor(readonly prefix: string) {}
  seen(eventId: string): string {
    return `${this.prefix}seen:${eventId}`;
  }
  itemSales(minute: number, metric: SalesMetric): string {
    return `${this.prefix}m:${minute}:${metric}`;
  }
  categorySales(minute: number, metric: SalesMetric): string {
    return `${this.prefix}m:${minute}:cat:${metric}`;
  }
  queries(minute: number): string {
    return `${this.prefix}m:${minute}:q`;
  }
  zeroResultQueries(minute: number): string {
    return `${this.prefix}m:${minute}:qz`;
  }
  events(minute: number): string {
    return `${this.prefix}m:${minute}:events`;
  }
  funnel(minute: number, category?: string): string {
    return `${this.prefix}m:${minute}:funnel${category === undefined ? '' : `:c:${category}`}`;
  }
  funnelUsers(minute: number, stage: FunnelStage, category?: string): string {
    return `${this.prefix}m:${minute}:fu:${stage}${category === undefined ? '' : `:c:${category}`}`;
  }
}
