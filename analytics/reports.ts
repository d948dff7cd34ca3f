/**
 * The real-time reports, read from the minute buckets the consumer keeps in Redis (./keys.ts): sales per item
 * and per category (units, revenue, cancellations, per minute), top queries and zero-result queries, and the
 * funnel view -> cart -> order. A window is a range of whole minutes; the cost is a handful of pipelined
 * commands per minute of the window, never a scan of raw events.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../stores/redis/client';
import { FUNNEL_STAGES, FunnelStage, ReportKeys, SalesMetric } from './keys';

export interface Window {
  /** First and last minute (minutes since the epoch), inclusive. */
  fromMinute: number;
  toMinute: number;
}

export interface SalesRow {
  units: number;
  revenue: number;
  canceled_units: number;
  canceled_value: number;
  per_minute: { minute: string; units: number; revenue: number; canceled_units: number }[];
}

export interface FunnelReport {
  category: string | null;
  stages: { stage: FunnelStage; events: number; users: number }[];
  conversion: { view_to_cart: number | null; cart_to_order: number | null; view_to_order: number | null };
}

const METRICS: SalesMetric[] = ['units', 'rev', 'cunits', 'crev'];
const minuteIso = (m: number) => new Date(m * 60_000).toISOString();
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);

export class ReportService {
  readonly keys: ReportKeys;
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new ReportKeys(prefix);
  }

  private minutes(w: Window): number[] {
    const out: number[] = [];
    for (let m = w.fromMinute; m <= w.toMinute; m++) out.push(m);
    return out;
  }

  /** The top `limit` members of the union (sum) of these zsets. */
  private async top(keys: string[], limit: number): Promise<{ member: string; score: number }[]> {
    if (keys.length === 0) return [];
    const tmp = `${this.keys.prefix}tmp:${randomUUID()}`;
    const r = await this.redis
      .multi()
      .zunionstore(tmp, keys.length, ...keys)
      .zrevrange(tmp, 0, limit - 1, 'WITHSCORES')
      .del(tmp)
      .exec();
    const flat = (r?.[1]?.[1] ?? []) as string[];
    const out: { member: string; score: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ member: flat[i]!, score: Number(flat[i + 1]) });
    return out;
  }

  /** Sales per item or per category: the given members, or the top `limit` by revenue in the window. */
  async sales(
    by: 'item' | 'category',
    w: Window,
    opts: { limit: number; members?: string[] },
  ): Promise<({ id: string } & SalesRow)[]> {
    const minutes = this.minutes(w);
    const key = (m: number, metric: SalesMetric) =>
      by === 'item' ? this.keys.itemSales(m, metric) : this.keys.categorySales(m, metric);
    if (minutes.length === 0) return [];
    let ids = opts.members;
    if (!ids) {
      // Top by revenue; members with units but no revenue (free items) rank after by units.
      const byRev = await this.top(
        minutes.map((m) => key(m, 'rev')),
        opts.limit,
      );
      ids = byRev.map((r) => r.member);
      if (ids.length < opts.limit) {
        const byUnits = await this.top(
          minutes.map((m) => key(m, 'units')),
          opts.limit,
        );
        for (const r of byUnits) if (ids.length < opts.limit && !ids.includes(r.member)) ids.push(r.member);
      }
    }
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const m of minutes) for (const metric of METRICS) pipe.zmscore(key(m, metric), ...ids);
    const res = (await pipe.exec()) ?? [];
    const rows = ids.map((id) => ({
      id,
      units: 0,
      revenue: 0,
      canceled_units: 0,
      canceled_value: 0,
      per_minute: [] as SalesRow['per_minute'],
    }));
    let k = 0;
    for (const m of minutes) {
      const vals = METRICS.map(() => {
        const [err, v] = res[k++]!;
        if (err) throw err;
        return (v as (string | null)[]).map((x) => (x === null ? 0 : Number(x)));
      });
      rows.forEach((row, i) => {
        const [u, r, cu, cr] = vals.map((v) => v[i]!) as [number, number, number, number];
        if (u === 0 && r === 0 && cu === 0 && cr === 0) return;
        row.units += u;
        row.revenue += r;
        row.canceled_units += cu;
        row.canceled_value += cr;
        row.per_minute.push({ minute: minuteIso(m), units: u, revenue: r / 100, canceled_units: cu });
      });
    }
    const out = rows.map((r) => ({ ...r, revenue: r.revenue / 100, canceled_value: r.canceled_value / 100 }));
    return opts.members ? out : out.sort((a, b) => b.revenue - a.revenue || b.units - a.units);
  }

  async topQueries(w: Window, limit: number, zeroResultsOnly: boolean): Promise<{ query: string; count: number }[]> {
    const keys = this.minutes(w).map((m) => (zeroResultsOnly ? this.keys.zeroResultQueries(m) : this.keys.queries(m)));
    return (await this.top(keys, limit)).map((r) => ({ query: r.member, count: r.score }));
  }

  async funnel(w: Window, category?: string): Promise<FunnelReport> {
    const minutes = this.minutes(w);
    if (minutes.length === 0)
      return {
        category: category ?? null,
        stages: FUNNEL_STAGES.map((stage) => ({ stage, events: 0, users: 0 })),
        conversion: { view_to_cart: null, cart_to_order: null, view_to_order: null },
      };
    const pipe = this.redis.pipeline();
    for (const m of minutes) pipe.hgetall(this.keys.funnel(m, category));
    for (const s of FUNNEL_STAGES) pipe.pfcount(...minutes.map((m) => this.keys.funnelUsers(m, s, category)));
    const res = (await pipe.exec()) ?? [];
    const events: Record<string, number> = {};
    for (let i = 0; i < minutes.length; i++) {
      const [err, h] = res[i]!;
      if (err) throw err;
      for (const [stage, n] of Object.entries(h as Record<string, string>))
        events[stage] = (events[stage] ?? 0) + Number(n);
    }
    const stages = FUNNEL_STAGES.map((stage, j) => {
      const [err, users] = res[minutes.length + j]!;
      if (err) throw err;
      return { stage, events: events[stage] ?? 0, users: Number(users) };
    });
    const u = Object.fromEntries(stages.map((s) => [s.stage, s.users])) as Record<FunnelStage, number>;
    return {
      category: category ?? null,
      stages,
      conversion: {
        view_to_cart: ratio(u.cart, u.view),
        cart_to_order: ratio(u.order, u.cart),
        view_to_order: ratio(u.order, u.view),
      },
    };
  }

  /** Events per type in the window (what the consumer has seen). */
  async eventCounts(w: Window): Promise<Record<string, number>> {
    const pipe = this.redis.pipeline();
    for (const m of this.minutes(w)) pipe.hgetall(this.keys.events(m));
    const out: Record<string, number> = {};
    for (const [err, h] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      for (const [t, n] of Object.entries(h as Record<string, string>)) out[t] = (out[t] ?? 0) + Number(n);
    }
    return out;
  }
}
