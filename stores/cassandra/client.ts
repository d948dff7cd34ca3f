import { Client, policies } from 'cassandra-driver';

export interface CassandraOptions {
  /** The longest wait between two reconnection tries to a node that went down (CASSANDRA_RECONNECT_MAX_DELAY). */
  reconnectMaxDelayMs?: number;
}

export function createCassandra(
  contactPoints: string,
  localDataCenter: string,
  keyspace?: string,
  { reconnectMaxDelayMs = 5_000 }: CassandraOptions = {},
): Client {
  return new Client({
    contactPoints: contactPoints.split(',').map((c) => c.trim()),
    localDataCenter,
    keyspace,
    socketOptions: { connectTimeout: 5000, readTimeout: 12000 },
    // The driver's default doubles the wait up to 10 minutes: after a restart of ~25 s its tries fell at 31 s and
    // 63 s, so every query failed (NoHostAvailable) for up to 40 s after Cassandra was back.
    policies: {
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, reconnectMaxDelayMs, false),
    },
  });
}
export type { Client as CassandraClient };
