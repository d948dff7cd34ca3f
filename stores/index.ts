/**
 * The platform's store clients, built from the configuration. Every process takes what it needs from here
 * and closes it on shutdown.
 */
import type { Knex } from 'knex';
import type { Kafka, Producer } from 'kafkajs';
import type { Client as CassandraClient } from 'cassandra-driver';
import type { MongoClient } from 'mongodb';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import {
  Client as TemporalClient,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';
import type { Config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from './mysql/client';
import { createFailFastRedis, createRedis, Redis } from './redis/client';
import { createKafka, createProducer, newProducer } from './kafka/client';
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

/** A Temporal client; `lazy`: no round trip now, the connection is made by the first call (so a process can
 * start while Temporal is down). */
export async function connectTemporal(cfg: Config, lazy = false): Promise<TemporalClient> {
  const options = { address: cfg.TEMPORAL_ADDRESS, connectTimeout: 5000 };
  // The default retries an unavailable server ten times over about 20 s; a request cannot wait that long, so a
  // lazy (API) connection tries three times (about half a second) and the API answers 503.
  const connection = lazy
    ? Connection.lazy({
        ...options,
        interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 3 }))],
      })
    : await Connection.connect(options);
  // Starting a saga carries the caller's trace into the workflow's headers (a no-op without tracing).
  return new TemporalClient({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}

export interface ConnectOptions {
  /** The API's settings: start even when a store is down, and fail fast while it is (the API answers 503 for
   * what needs that store and serves the rest). Temporal connects on first use and tries an unavailable
   * server 3 times, the Kafka producer connects in the background, and Redis fails a command at once while
   * it is down (no offline queue) and after REDIS_COMMAND_TIMEOUT otherwise. Default (workers, scripts): wait
   * for Temporal and Kafka at start, queue Redis commands while reconnecting. */
  failFast?: boolean;
}

/** Connects every store. Connections that can wait (Cassandra, Mongo) connect on first use. */
export async function connectStores(cfg: Config, opts: ConnectOptions = {}): Promise<Stores> {
  const failFast = opts.failFast ?? false;
  const mysql = createMysql(cfg.MYSQL_URL, cfg.MYSQL_POOL_MAX, cfg.MYSQL_ACQUIRE_TIMEOUT);
  const redis = failFast ? createFailFastRedis(cfg.REDIS_URL, cfg.REDIS_COMMAND_TIMEOUT) : createRedis(cfg.REDIS_URL);
  const kafka = createKafka(cfg.KAFKA_BROKERS, cfg.KAFKA_CLIENT_ID);
  const producer = failFast ? connectInBackground(kafka) : await createProducer(kafka);
  const cassandra = createCassandra(cfg, cfg.CASSANDRA_KEYSPACE);
  const mongo = createMongo(cfg.MONGO_URL);
  const search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, cfg.SEARCH_INDEX, {
    inFlight: cfg.SEARCH_BATCH_IN_FLIGHT,
    maxBatch: cfg.SEARCH_BATCH_MAX,
    maxWaiting: cfg.SEARCH_BATCH_WAITING_MAX,
  });
  const temporal = await connectTemporal(cfg, failFast);
  // Without an offline queue a command sent before the first connect fails: give Redis a moment to be ready.
  if (failFast && redis.status !== 'ready')
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, 2000);
      redis.once('ready', done);
    });
  return {
    mysql,
    redis,
    kafka,
    producer,
    cassandra,
    mongo,
    search,
    temporal,
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

/** The producer, connecting in the background until it succeeds (kafkajs reconnects by itself after that). */
function connectInBackground(kafka: Kafka): Producer {
  const producer = newProducer(kafka, { retries: 2 }); // few retries per attempt: the attempts back off below
  let closed = false;
  const attempt = (delay: number) => {
    producer.connect().catch((err) => {
      if (closed) return;
      logger.warn({ err, retryInMs: delay }, 'kafka producer could not connect; retrying in the background');
      setTimeout(() => attempt(Math.min(delay * 2, 30_000)), delay).unref();
    });
  };
  attempt(1000);
  const disconnect = producer.disconnect.bind(producer);
  producer.disconnect = async () => {
    closed = true;
    await disconnect();
  };
  return producer;
}

export type { StoreName } from './errors';
import type { StoreName } from './errors';
export type ReadinessReport = Record<StoreName, { ok: boolean; error?: string }>;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref()),
  ]);
}

/** Asks every store a real question (not just "is the socket open"), each with a 2 s limit. */
export async function checkReadiness(s: Omit<Stores, 'close' | 'producer'>): Promise<ReadinessReport> {
  const probes: Record<StoreName, () => Promise<unknown>> = {
    mysql: () => s.mysql.raw('SELECT 1'),
    redis: () => s.redis.ping(),
    temporal: () => s.temporal.workflowService.getSystemInfo({}),
    kafka: async () => {
      // No retries: a probe that gives up after 2 s must not leave an admin client retrying for a minute.
      const admin = s.kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
        await admin.describeCluster();
      } finally {
        await admin.disconnect();
      }
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
