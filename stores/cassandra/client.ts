import { Client, policies } from 'cassandra-driver';
import type { Config } from '../../lib/config';

/** The settings a Cassandra client is made from. */
export type CassandraSettings = Pick<
  Config,
  'CASSANDRA_CONTACT_POINTS' | 'CASSANDRA_DATACENTER' | 'CASSANDRA_RECONNECT_MAX_DELAY'
>;

/** A client of the cluster in `cfg`, on `keyspace` (none: for creating it, scripts/migrate.ts). */
export function createCassandra(cfg: CassandraSettings, keyspace?: string): Client {
  return new Client({
    contactPoints: cfg.CASSANDRA_CONTACT_POINTS.split(',').map((c) => c.trim()),
    localDataCenter: cfg.CASSANDRA_DATACENTER,
    keyspace,
    socketOptions: { connectTimeout: 5000, readTimeout: 12000 },
    // The driver's default doubles the wait up to 10 minutes: after a restart of ~25 s its tries fell at 31 s and
    // 63 s, so every query failed (NoHostAvailable) for up to 40 s after Cassandra was back.
    policies: {
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(
        500,
        cfg.CASSANDRA_RECONNECT_MAX_DELAY,
        false,
      ),
    },
  });
}
export type { Client as CassandraClient };
