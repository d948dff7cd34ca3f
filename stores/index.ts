/**
 * The platform's store clients, built from the configuration. Every process takes what it needs from here
 * and closes it on shutdown.
 */
import type { Knex } from 'knex';
import type { Kafka, Producer } from 'kafkajs';
import type { Client as CassandraClient } from 'cassandra-driver';
import type { MongoClient } from 'mongodb';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import type { Config } from '../lib/config';
import { createMysql } from './mysql/client';
import { createRedis, Redis } from './redis/client';
import { createKafka, createProducer } from './kafka/client';
import { createCassandra } from './cassandra/client';
import { createMongo } from './mongo/client';
import { createSearch, SearchPort } from './search';

export interface Stores {
  mysql: Knex;
  redis: Redis;
  kafka: Kafka;
  producer: Producer;
  cassandra: CassandraClient;
  mongo: MongoClient;
  search: SearchPort;
  temporal: TemporalClient;
  close(): Promise<void>;
}

export async function connectTemporal(cfg: Config): Promise<TemporalClient> {
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: 5000 });
  return new TemporalClient({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
}

/** Connects every store. Connections that can wait (Cassandra, Mongo) connect on first use. */
export async function connectStores(cfg: Config): Promise<Stores> {
  const mysql = createMysql(cfg.MYSQL_URL, cfg.MYSQL_POOL_MAX);
  const redis = createRedis(cfg.REDIS_URL);
  const kafka = createKafka(cfg.KAFKA_BROKERS, cfg.KAFKA_CLIENT_ID);
  const producer = await createProducer(kafka);
  const cassandra = createCassandra(cfg.CASSANDRA_CONTACT_POINTS, cfg.CASSANDRA_DATACENTER, cfg.CASSANDRA_KEYSPACE);
  const mongo = createMongo(cfg.MONGO_URL);
  const search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, cfg.SEARCH_INDEX);
  const temporal = await connectTemporal(cfg);
  return {
    mysql, redis, kafka, producer, cassandra, mongo, search, temporal,
    async close() {
      await Promise.allSettled([
        mysql.destroy(),
        redis.quit(),
        producer.disconnect(),
        cassandra.shutdown(),
        mongo.close(),
        search.close(),
        temporal.connection.close(),
      ]);
    },
  };
}

export type StoreName = 'mysql' | 'redis' | 'temporal' | 'kafka' | 'cassandra' | 'mongodb' | 'search';
export type ReadinessReport = Record<StoreName, { ok: boolean; error?: string }>;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);
}

/** Asks every store a real question (not just "is the socket open"), each with a 2 s limit. */
export async function checkReadiness(s: Omit<Stores, "close" | "producer">): Promise<ReadinessReport> {
  const probes: Record<StoreName, () => Promise<unknown>> = {
    mysql: () => s.mysql.raw('SELECT 1'),
    redis: () => s.redis.ping(),
    temporal: () => s.temporal.workflowService.getSystemInfo({}),
    kafka: async () => {
      const admin = s.kafka.admin();
      await admin.connect();
      try { await admin.describeCluster(); } finally { await admin.disconnect(); }
    },
    cassandra: () => s.cassandra.execute('SELECT release_version FROM system.local'),
    mongodb: () => s.mongo.db().command({ ping: 1 }),
    search: () => s.search.ping(),
  };
  const entries = await Promise.all(
    (Object.keys(probes) as StoreName[]).map(async (name) => {
      try {
        await withTimeout(probes[name](), 2000);
        return [name, { ok: true }] as const;
      } catch (err) {
        return [name, { ok: false, error: (err as Error).message }] as const;
      }
    }),
  );
  return Object.fromEntries(entries) as ReadinessReport;
}
