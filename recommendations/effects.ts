/**
 * What one analytics event changes in the recommendation model, as ops for the exactly-once applier:
 * - an order placed: every pair of its items gains ORDER weight (bought together), each item is paired with
 *   the user's earlier purchases (USER weight: bought by the same user), enters the user's bought set and the
 *   popularity counts (overall and per category); these pairs go to the bought-together lists;
 * - a search result click: paired with the user's other clicks for the same query within the hour (CLICK), and
 * - a view: paired with the user's few previous views (VIEW), both in the viewed-together lists (substitutes,
 *   where the bought-together lists hold complements);
 * - views, cart and wishlist adds: the user's recent items and category interest (the seeds of their list).
 * The history-dependent pairing (`cross`) runs inside the same atomic script, after the earlier events of the
 * batch (one user's events are on one partition, in order).
 */
import { AnalyticsEvent, normalizeQuery } from '../events/analytics';
import type { Op } from '../stores/redis/exactly-once';
import type { RecsKeys } from './keys';

export interface RecsWeights {
  order: number;
  user: number;
  click: number;
  /** Viewed one after the other by the same user (among their last VIEW_PAIRING views). */
  view: number;
}
export const DEFAULT_WEIGHTS: RecsWeights = { order: 2, user: 1, click: 2, view: 1 };
/** A view is paired with this many of the user's previous views (a browsing session, roughly). */
const VIEW_PAIRING = 5;

export interface RecsEffectOptions {
  /** TTL (seconds) of per-user keys. */
  userTtl: number;
  /** Items kept per user history list. */
  historyCap: number;
  /** Most items of one order paired with each other (a huge order says little about any pair). */
  maxOrderItems: number;
  weights: RecsWeights;
}

const CLICK_WINDOW_S = 3600;

export function recsOps(e: AnalyticsEvent, keys: RecsKeys, o: RecsEffectOptions): Op[] {
  const u = e.user_id;
  const at = Date.parse(e.timestamp);
  const ops: Op[] = [];
  const interest = (cats: (string | null)[] | undefined, amount: number) => {
    if (!u) return;
    for (const c of new Set(cats ?? []))
      if (c) ops.push({ kind: 'zincr', key: keys.categories(u), member: c, amount, ttl: o.userTtl });
  };

  switch (e.event_type) {
    case 'order_placed': {
      const lines = e.lines ?? [];
      const items = [...new Set(lines.map((l) => l.item_id))];
      const paired = items.slice(0, o.maxOrderItems);
      for (let i = 0; i < paired.length; i++) {
        for (let j = i + 1; j < paired.length; j++)
          ops.push({
            kind: 'co',
            key: keys.co(paired[i]!),
            self: paired[i]!,
            member: paired[j]!,
            amount: o.weights.order,
          });
      }
      if (u) {
        // Earlier purchases first (the history does not hold this order's items yet), then record these.
        for (const it of paired) ops.push({ kind: 'cross', key: keys.bought(u), member: it, amount: o.weights.user });
        for (const it of items) ops.push({ kind: 'zmax', key: keys.bought(u), member: it, amount: at, ttl: o.userTtl });
        ops.push({ kind: 'ztrim', key: keys.bought(u), amount: o.historyCap, ttl: o.userTtl });
      }
      for (const l of lines) {
        // Best sellers live as long as orders keep coming (a category without orders for RECS_TTL goes away).
        ops.push({ kind: 'zincr', key: keys.popular(), member: l.item_id, amount: 1, ttl: o.userTtl });
        if (l.category)
          ops.push({ kind: 'zincr', key: keys.popular(l.category), member: l.item_id, amount: 1, ttl: o.userTtl });
      }
      interest(
        lines.map((l) => l.category),
        3,
      );
      break;
    }
    case 'search_click': {
      const q = normalizeQuery(e.search_query);
      const item = e.clicked_items[0] ?? e.item_ids[0];
      if (!u || !q || !item) break;
      const k = keys.queryClicks(u, q);
      ops.push({ kind: 'crossv', key: k, member: item, amount: o.weights.click });
      ops.push({ kind: 'zmax', key: k, member: item, amount: at, ttl: CLICK_WINDOW_S });
      ops.push({ kind: 'zmax', key: keys.viewed(u), member: item, amount: at, ttl: o.userTtl });
      ops.push({ kind: 'ztrim', key: keys.viewed(u), amount: o.historyCap, ttl: o.userTtl });
      break;
    }
    case 'item_view':
    case 'cart_add':
    case 'wishlist_add': {
      const item = e.item_ids[0];
      if (!u || !item) break;
      const k = e.event_type === 'item_view' ? keys.viewed(u) : keys.carted(u);
      if (e.event_type === 'item_view' && o.weights.view > 0)
        ops.push({ kind: 'crossv', key: k, member: item, amount: o.weights.view, limit: VIEW_PAIRING });
      ops.push({ kind: 'zmax', key: k, member: item, amount: at, ttl: o.userTtl });
      ops.push({ kind: 'ztrim', key: k, amount: o.historyCap, ttl: o.userTtl });
      interest(e.categories, e.event_type === 'item_view' ? 1 : 2);
      break;
    }
    default:
      break;
  }
  return ops;
}
