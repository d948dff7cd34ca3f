/**
 * The lock-free stock read in front of a placement, shared by concurrent callers in one process: when a flash
 * sale's buyers arrive at once, nothing is known in Redis yet, and each of them would otherwise send the same
 * SELECT to MySQL before the first answer can set the admission counters. Callers asking for the same items
 * while a read is in flight get that read's answer. It may be older than the caller by that one query, as any
 * lock-free read may be; the locked reservation decides.
 */
import type { Knex } from 'knex';
import { SingleFlight } from '../lib/single-flight';
import { orderableStock } from './levels';

type OrderableStock = Awaited<ReturnType<typeof orderableStock>>;

export class SharedStockReads {
  private readonly reads = new SingleFlight<OrderableStock>();

  constructor(private readonly mysql: Knex) {}

  read(lines: { item_id: string }[]): Promise<OrderableStock> {
    const key = lines
      .map((l) => l.item_id)
      .sort()
      .join('\n');
    return this.reads.run(key, () => orderableStock(this.mysql, lines));
  }
}
