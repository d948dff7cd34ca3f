import { Client } from 'cassandra-driver';

export function createCassandra(contactPoints: string, localDataCenter: string, keyspace?: string): Client {
  return new Client({
    contactPoints: contactPoints.split(',').map((c) => c.trim()),
    localDataCenter,
    keyspace,
    socketOptions: { connectTimeout: 5000, readTimeout: 12000 },
  });
}
export type { Client as CassandraClient };
