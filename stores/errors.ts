/**
 * One place that tells "a store is down or saturated" apart from a bug: each store client's own ways of saying
 * that it cannot answer now (connection refused or lost, a timeout, a pool with no connection to give, a server
 * shedding load). The API answers those with 503 + Retry-After (api/errors.ts), never 500; anything else stays
 * a 500, because retrying would not help.
 *
 * Matched by the error names and codes the clients document (not `instanceof`: a client bundled twice, or an
 * error re-wrapped by another library, still matches), following `cause`/`originalError` chains.
 */
import { config } from '../lib/config';
import { logger } from '../lib/logger';

/** The stores, named as /readyz names them. */
export type StoreName = 'mysql' | 'redis' | 'temporal' | 'kafka' | 'cassandra' | 'mongodb' | 'search';

/** `unavailable`: cannot be reached or did not answer in time; `overloaded`: answered that it is too busy. */
export interface StoreFault {
  store: StoreName;
  kind: 'unavailable' | 'overloaded';
}

interface ErrorLike {
  name?: string;
  code?: unknown;
  errno?: unknown;
  message?: string;
  sqlState?: string;
  fatal?: boolean;
  cause?: unknown;
  originalError?: unknown;
  meta?: { statusCode?: number };
  statusCode?: number;
  innerErrors?: unknown;
}

/** Node's socket-level failures: the peer is not there, went away, or did not answer. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ESOCKETTIMEDOUT',
]);

// ---- MySQL / MariaDB (knex + mysql2) ----
/** mysql2's codes for a connection that failed or was lost, and the server's for "shutting down / too busy". */
const MYSQL_UNAVAILABLE = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_SERVER_SHUTDOWN', // 1053
  'ER_CONNECTION_KILLED', // 1927 (MariaDB: the server killed the connection, e.g. at shutdown)
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_READ_ERROR',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_QUERY_INTERRUPTED',
]);
/** Under load: the server refused a connection, or gave up waiting for a lock. Retrying later helps. */
const MYSQL_OVERLOADED = new Set([
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
]);

function mysqlFault(e: ErrorLike): StoreFault | undefined {
  if (e.name === 'KnexTimeoutError') return { store: 'mysql', kind: 'overloaded' }; // no pool connection in time
  const code = typeof e.code === 'string' ? e.code : '';
  const fromMysql2 =
    typeof e.fatal === 'boolean' || e.sqlState !== undefined || code.startsWith('ER_') || code.startsWith('PROTOCOL_');
  if (!fromMysql2) return undefined;
  if (MYSQL_OVERLOADED.has(code)) return { store: 'mysql', kind: 'overloaded' };
  if (MYSQL_UNAVAILABLE.has(code) || NETWORK_CODES.has(code)) return { store: 'mysql', kind: 'unavailable' };
  // mysql2 marks every error after which the connection is unusable as fatal (a lost or refused connection).
  if (e.fatal === true && !code.startsWith('ER_')) return { store: 'mysql', kind: 'unavailable' };
  return undefined;
}

// ---- Redis (ioredis) ----
const REDIS_MESSAGES = [
  'Connection is closed.',
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'connect ETIMEDOUT',
];
const REDIS_BUSY_REPLIES = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;

function redisFault(e: ErrorLike): StoreFault | undefined {
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ClusterAllFailedError')
    return { store: 'redis', kind: 'unavailable' };
  if (e.name === 'ReplyError' && REDIS_BUSY_REPLIES.test(e.message ?? ''))
    return { store: 'redis', kind: 'overloaded' };
  if ((e.name === 'Error' || e.name === undefined) && REDIS_MESSAGES.includes(e.message ?? ''))
    return { store: 'redis', kind: 'unavailable' };
  return undefined;
}

// ---- Kafka (kafkajs) ----
const KAFKA_UNAVAILABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTimeout',
]);

function kafkaFault(e: ErrorLike): StoreFault | undefined {
  if (KAFKA_UNAVAILABLE.has(e.name ?? '')) return { store: 'kafka', kind: 'unavailable' };
  // "The producer is disconnected" and protocol errors marked retriable (leader not available, ...).
  if (
    (e.name === 'KafkaJSError' || e.name === 'KafkaJSProtocolError') &&
    (e as { retriable?: boolean }).retriable === true
  )
    return { store: 'kafka', kind: 'unavailable' };
  return undefined;
}

// ---- Cassandra (cassandra-driver) ----
/** responseErrorCodes: unavailableException, overloaded, isBootstrapping, writeTimeout, readTimeout. */
const CASSANDRA_OVERLOADED = new Set([0x1000, 0x1001, 0x1002, 0x1100, 0x1200]);

function cassandraFault(e: ErrorLike): StoreFault | undefined {
  if (e.name === 'NoHostAvailableError' || e.name === 'OperationTimedOutError' || e.name === 'BusyConnectionError')
    return { store: 'cassandra', kind: 'unavailable' };
  // cassandra-driver's ResponseError carries the protocol's numeric code (OpenSearch's has meta.statusCode).
  if (e.name === 'ResponseError' && typeof e.code === 'number' && e.meta === undefined) {
    return CASSANDRA_OVERLOADED.has(e.code) ? { store: 'cassandra', kind: 'overloaded' } : undefined;
  }
  return undefined;
}

// ---- MongoDB / FerretDB (mongodb) ----
const MONGO_UNAVAILABLE = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoNotConnectedError',
  'MongoOperationTimeoutError',
]);

function mongoFault(e: ErrorLike): StoreFault | undefined {
  if (MONGO_UNAVAILABLE.has(e.name ?? '')) return { store: 'mongodb', kind: 'unavailable' };
  return undefined;
}

// ---- OpenSearch / Elasticsearch (their transports name errors alike) ----
function searchFault(e: ErrorLike): StoreFault | undefined {
  if (e.name === 'ConnectionError' || e.name === 'TimeoutError' || e.name === 'NoLivingConnectionsError')
    return { store: 'search', kind: 'unavailable' };
  if (e.name === 'SearchBusyError') return { store: 'search', kind: 'overloaded' }; // stores/search/batching.ts
  if (e.name === 'ResponseError' && e.meta !== undefined) {
    const status = e.meta.statusCode ?? e.statusCode;
    if (status === 429) return { store: 'search', kind: 'overloaded' };
    if (status === 502 || status === 503 || status === 504) return { store: 'search', kind: 'unavailable' };
  }
  return undefined;
}

// ---- Temporal (@temporalio/client over gRPC) ----
/** gRPC status codes: DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, UNAVAILABLE 14. */
const GRPC_UNAVAILABLE = new Set([4, 14]);

function temporalFault(e: ErrorLike): StoreFault | undefined {
  if (e.name === 'WorkflowUpdateRPCTimeoutOrCancelledError') return { store: 'temporal', kind: 'unavailable' };
  if (e.name !== 'ServiceError' && !isGrpcStatus(e)) return undefined;
  const grpc = isGrpcStatus(e) ? e : isGrpcStatus(e.cause) ? e.cause : undefined;
  if (!grpc)
    return e.name === 'ServiceError' && /deadline|unavailable/i.test(e.message ?? '')
      ? { store: 'temporal', kind: 'unavailable' }
      : undefined;
  if (grpc.code === 8) return { store: 'temporal', kind: 'overloaded' };
  return GRPC_UNAVAILABLE.has(grpc.code as number) ? { store: 'temporal', kind: 'unavailable' } : undefined;
}

function isGrpcStatus(e: unknown): e is ErrorLike & { code: number } {
  const x = e as { code?: unknown; details?: unknown; metadata?: unknown } | undefined;
  return typeof x?.code === 'number' && typeof x.details === 'string' && x.metadata !== undefined;
}

const CLASSIFIERS = [mysqlFault, redisFault, kafkaFault, cassandraFault, mongoFault, searchFault, temporalFault];

/** Which store is down or saturated, if that is what the error says; undefined for anything else. */
export function classifyStoreError(err: unknown): StoreFault | undefined {
  const seen = new Set<unknown>();
  let e: unknown = err;
  // The store-specific wrapper decides first; a wrapped cause (Temporal's, kafkajs' retries) is looked at next.
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    for (const classify of CLASSIFIERS) {
      const fault = classify(e as ErrorLike);
      if (fault) return fault;
    }
    const x = e as ErrorLike;
    e = x.cause ?? x.originalError;
  }
  return undefined;
}

/**
 * Logs a store's fault at warn at most once per `intervalMs` per store, with how many were not logged since,
 * so an outage under load writes a line every few seconds, not one per request.
 */
export class StoreFaultLog {
  private readonly last = new Map<StoreName, { at: number; suppressed: number }>();
  constructor(
    private readonly intervalMs: () => number,
    private readonly now: () => number = Date.now,
    private readonly log: Pick<typeof logger, 'warn'> = logger,
  ) {}

  /** Logs the fault, or counts it when its store was logged less than an interval ago; true when logged. */
  note(fault: StoreFault, err: unknown, message: string, context: Record<string, unknown> = {}): boolean {
    const entry = this.last.get(fault.store);
    const t = this.now();
    if (entry && t - entry.at < this.intervalMs()) {
      entry.suppressed += 1;
      return false;
    }
    this.last.set(fault.store, { at: t, suppressed: 0 });
    this.log.warn(
      { store: fault.store, kind: fault.kind, err, suppressedSinceLast: entry?.suppressed ?? 0, ...context },
      message,
    );
    return true;
  }
}

/** The process's log of store faults (its interval: STORE_ERROR_LOG_INTERVAL). */
export const storeFaults = new StoreFaultLog(() => config().STORE_ERROR_LOG_INTERVAL);

/**
 * For best-effort work that must not fail the request (a cache, an analytics event, a saga start the sweeper
 * will redo): a store outage is logged through the throttle above, anything else at `level` every time.
 */
export function logBestEffortFailure(
  err: unknown,
  message: string,
  context: Record<string, unknown> = {},
  level: 'warn' | 'error' = 'warn',
): void {
  const fault = classifyStoreError(err);
  if (fault) storeFaults.note(fault, err, message, context);
  else logger[level]({ err, ...context }, message);
}
