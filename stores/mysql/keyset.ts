/**
 * Keyset paging on a (timestamp, id) pair: the rows strictly past a key in that order, for a `where(...)`. Walking
 * on from the last row seen (rather than an offset) neither skips nor repeats a row when rows come and go between
 * pages; the id breaks ties between rows of the same millisecond.
 */
import type { Knex } from 'knex';

export interface Keyset {
  at: Date | string;
  id: string;
}

/** `(time, id) > key` ascending, `(time, id) < key` descending; `columns` are the pair's column names. */
export function pastKey(
  columns: { time: string; id: string },
  key: Keyset,
  order: 'asc' | 'desc',
): (w: Knex.QueryBuilder) => void {
  const op = order === 'asc' ? '>' : '<';
  return (w) =>
    void w
      .where(columns.time, op, key.at)
      .orWhere((same) => same.where(columns.time, '=', key.at).andWhere(columns.id, op, key.id));
}
