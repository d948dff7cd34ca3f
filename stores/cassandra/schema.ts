import type { Client } from 'cassandra-driver';

/** The keyspace and tables: finished orders by id, by user and by status and day (with items and status
 * history), and the raw analytics events by day and bucket. Every statement is IF NOT EXISTS, so re-running is harmless. */
export function cassandraSchema(keyspace: string): string[] {
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    `CREATE TYPE IF NOT EXISTS ${keyspace}.order_line (item_id text, quantity int, price decimal)`,
    `CREATE TYPE IF NOT EXISTS ${keyspace}.status_change (status text, reason text, at timestamp)`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.orders_by_id (
       order_id text PRIMARY KEY, user_id text, status text, total_price decimal, payment_method text,
       payment_status text, cancel_reason text, late_payment text, expires_at timestamp, created_at timestamp,
       updated_at timestamp, archived_at timestamp, items list<frozen<order_line>>, history list<frozen<status_change>>)`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.orders_by_user (
       user_id text, created_at timestamp, order_id text, status text, total_price decimal,
       PRIMARY KEY ((user_id), created_at, order_id)) WITH CLUSTERING ORDER BY (created_at DESC, order_id DESC)`,
    // Finished orders by status and creation day (UTC), for admins. Written with the other two tables.
    `CREATE TABLE IF NOT EXISTS ${keyspace}.orders_by_status_day (
       status text, day date, created_at timestamp, order_id text, user_id text, total_price decimal,
       PRIMARY KEY ((status, day), created_at, order_id)) WITH CLUSTERING ORDER BY (created_at DESC, order_id DESC)`,
    // The analytics raw log: the day split into 16 buckets by event id (analytics/raw-store.ts),
    // so a busy day is 16 partitions spread over the ring instead of one unbounded one.
    `CREATE TABLE IF NOT EXISTS ${keyspace}.analytics_events_by_day_bucket (
       day date, bucket int, event_time timestamp, event_id text, event_type text, user_id text, search_query text,
       clicked_items list<text>, item_ids list<text>, payload text,
       PRIMARY KEY ((day, bucket), event_time, event_id))`,
  ];
}

/** Columns added after a table was first created: [table, column, type]. Added when missing (CQL has no
 * `ADD IF NOT EXISTS` on every supported version), so a keyspace created by an older release catches up. */
const ADDED_COLUMNS: [table: string, column: string, type: string][] = [
  ['orders_by_id', 'expires_at', 'timestamp'],
  ['orders_by_id', 'charge_id', 'text'],
  // The order's shipping address as JSON text; null for orders archived before addresses existed.
  ['orders_by_id', 'shipping_address', 'text'],
  // Its per-seller shipments as JSON text (issue 16); null for orders archived before shipments existed.
  ['orders_by_id', 'shipments', 'text'],
];

/** Fields added to a user-defined type after it was first created: [type, field, type]. */
const ADDED_FIELDS: [udt: string, field: string, type: string][] = [
  // Who moved the order (issue 15); null in history archived before it was recorded.
  ['status_change', 'actor', 'text'],
];

export async function applyCassandraSchema(client: Client, keyspace: string): Promise<void> {
  for (const cql of cassandraSchema(keyspace)) await client.execute(cql);
  for (const [table, column, type] of ADDED_COLUMNS) {
    const rs = await client.execute(
      'SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ? AND column_name = ?',
      [keyspace, table, column],
      { prepare: true },
    );
    if (rs.rowLength === 0) await client.execute(`ALTER TABLE ${keyspace}.${table} ADD ${column} ${type}`);
  }
  for (const [udt, field, type] of ADDED_FIELDS) {
    const rs = await client.execute(
      'SELECT field_names FROM system_schema.types WHERE keyspace_name = ? AND type_name = ?',
      [keyspace, udt],
      { prepare: true },
    );
    const fields: string[] = rs.first()?.['field_names'] ?? [];
    if (!fields.includes(field)) await client.execute(`ALTER TYPE ${keyspace}.${udt} ADD ${field} ${type}`);
  }
}
