/**
 * Every setting of the platform, read once from the environment. Each has a default that works on the native
 * stack (`npm run stack`), so a newcomer sets nothing; production overrides them (see .env.example).
 */
import { z } from 'zod';

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h)?$/, 'a duration such as 300ms, 5s, 5m or 1h')
  .transform(parseDurationMs);

/** TRUST_PROXY as Express takes it: a boolean, a hop count, or the addresses/CIDRs as given. */
export function parseTrustProxy(text: string): boolean | number | string {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^\d+$/.test(text)) return Number(text);
  return text;
}

export function parseDurationMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
}

const flag = (fallback: '0' | '1') =>
  z
    .enum(['0', '1', 'true', 'false'])
    .default(fallback)
    .transform((v) => v === '1' || v === 'true');

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  /** Local development mode, turned on deliberately by `npm start`, `npm test`, the benches and the fuzzer
   * (scripts/start.sh, scripts/test-env.sh): only then are the public dev-only secrets and the simulated
   * payment gateway (with its test payment methods) accepted. Anything else fails closed at start. */
  SHOPFLOW_DEV_MODE: flag('0'),
  /** The payment gateway: `simulator` (payments/simulator.ts, test payment methods such as pm_card_visa) is the
   * only one so far, and only allowed in dev mode: a real deployment needs a real adapter. */
  PAYMENT_GATEWAY: z.enum(['simulator']).default('simulator'),
  PORT: z.coerce.number().int().default(3000),
  /** The API's listen queue: connections the kernel holds until a process accepts them. A flash sale opens
   * thousands at once; Node's default of 511 overflows and each dropped handshake costs the buyer a 1 s, 3 s or
   * 7 s SYN retry. Linux caps it at net.core.somaxconn (4096 since 5.4). */
  API_LISTEN_BACKLOG: z.coerce.number().int().positive().default(4096),
  LOG_LEVEL: z.string().default('info'),
  MYSQL_URL: z.string().default('mysql://shopflow:shopflow@127.0.0.1:3306/shopflow'),
  MYSQL_POOL_MAX: z.coerce.number().int().positive().default(30),
  /** The payments worker's concurrent charges and settlements (HTTP calls to the gateway; workers/order-worker.ts). */
  PAYMENT_ACTIVITY_SLOTS: z.coerce.number().int().positive().default(100),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('orders'),
  TEMPORAL_UI_URL: z.string().default('http://127.0.0.1:8233'),
  KAFKA_BROKERS: z.string().default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().default('shopflow'),
  CASSANDRA_CONTACT_POINTS: z.string().default('127.0.0.1:9042'),
  CASSANDRA_DATACENTER: z.string().default('datacenter1'),
  CASSANDRA_KEYSPACE: z.string().default('shopflow'),
  /** The longest wait between two reconnection tries to a Cassandra node that went down. */
  CASSANDRA_RECONNECT_MAX_DELAY: duration.default(5_000),
  MONGO_URL: z.string().default('mongodb://127.0.0.1:27017/shopflow'),
  SEARCH_URL: z.string().default('http://127.0.0.1:9200'),
  SEARCH_ENGINE: z.enum(['opensearch', 'elasticsearch']).default('opensearch'),
  SEARCH_INDEX: z.string().default('items'),
  /** How long a created order waits for its payment before it is canceled and its stock released. */
  ORDER_PAYMENT_TIMEOUT: duration.default(5 * 60_000),
  /** What to do with a payment success that arrives after the order expired: refund it, or keep the order. */
  LATE_PAYMENT_POLICY: z.enum(['refund', 'accept']).default('refund'),
  /** How long an expired order's saga keeps listening for a late payment before it closes. */
  ORDER_LATE_PAYMENT_WINDOW: duration.default(60 * 60_000),
  PAYMENT_GATEWAY_URL: z.string().default('http://127.0.0.1:4010'),
  PAYMENT_GATEWAY_PORT: z.coerce.number().int().default(4010),
  /** Where the simulated gateway posts its webhooks (the API). */
  PAYMENT_WEBHOOK_URL: z.string().default('http://127.0.0.1:3000/payments/webhook'),
  PAYMENT_WEBHOOK_SECRET: z.string().min(16).default('dev-only-webhook-secret-change-me'),
  /** The simulated gateway's answer time, and when a pm_card_lateSuccess charge finally succeeds. */
  GATEWAY_LATENCY: duration.default(30),
  GATEWAY_LATE_SUCCESS_DELAY: duration.optional(),
  /** The shop's currency (ISO 4217): charges are made in its minor units. */
  PAYMENT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('USD'),
  /** The reconciler (orders/reconciler.ts, a Temporal Schedule): how often it runs, how far back it compares the
   * gateway's charges with the orders, and how old a charge or an expired order must be before it acts (younger
   * ones are their saga's to settle). */
  RECONCILE_INTERVAL: duration.default(60_000),
  /** How often the saga sweeper's and the archive sweeper's Temporal Schedules run (orders/schedules.ts). */
  SAGA_SWEEP_INTERVAL: duration.default(10_000),
  ARCHIVE_SWEEP_INTERVAL: duration.default(5 * 60_000),
  RECONCILE_LOOKBACK: duration.default(48 * 3_600_000),
  RECONCILE_GRACE: duration.default(2 * 60_000),
  /** The worker process's Prometheus endpoint (/metrics); 0 turns it off. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Metrics (issue 15; stack/components/prometheus.sh scrapes these ports; 0 turns one off): the Temporal SDK's
   * own worker metrics (task latencies, slots, sticky cache) served by the SDK in the worker process, and each
   * Kafka consumer process's /metrics. */
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  SEARCH_INDEXER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9466),
  NOTIFIER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9467),
  ANALYTICS_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9468),
  /** A bearer that may read the API's /metrics besides an admin token (Prometheus's scrape credential). */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** Tracing (OpenTelemetry, lib/tracing.ts): spans of every process exported over OTLP/HTTP to this endpoint
   * (Jaeger on the native stack), service names `${OTEL_SERVICE_NAME}-api`, `-worker`, ...; OTEL_SDK_DISABLED=true
   * turns it off. An unreachable collector only drops spans (bounded queue, short export timeout). */
  OTEL_SDK_DISABLED: flag('0'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().default('http://127.0.0.1:4318'),
  OTEL_SERVICE_NAME: z.string().min(1).default('shopflow'),
  /** Fraction of new traces recorded (parent-based: a continued trace follows its parent's decision). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  /** The simulated gateway's ledger (charges, refunds, webhook outbox): a SQLite file, relative to the working
   * directory (the repo for `npm start`). */
  PAYMENT_GATEWAY_DB: z.string().min(1).default('.stack/data/gateway/gateway.sqlite'),
  /** The simulated gateway's first webhook retry delay (doubled per attempt, at most a minute). */
  GATEWAY_WEBHOOK_RETRY_BASE: duration.default(500),
  OUTBOX_POLL_INTERVAL: duration.default(100),
  /** Published outbox rows are deleted after this long (the events stay on Kafka). */
  OUTBOX_RETENTION: duration.default(24 * 60 * 60_000),
  /** How long POST /orders waits for Temporal to start an order's saga; past it the sweeper starts it. */
  ORDER_RESERVE_DEADLINE: duration.default(5_000),
  /** A reserved order whose saga has not started after this long is started by the saga sweeper. */
  ORDER_SAGA_SWEEP_AFTER: duration.default(10_000),
  /** A finished order still in MySQL this long after it finished is archived by the worker's archive sweeper
   * (the saga normally archives it at once). Keep it above ORDER_LATE_PAYMENT_WINDOW. */
  ORDER_ARCHIVE_SWEEP_AFTER: duration.default(2 * 60 * 60_000),
  JWT_SECRET: z.string().min(16).default('dev-only-jwt-secret-change-me-please'),
  JWT_TTL: duration.default(60 * 60_000),
  /** Verified tokens an API process remembers until they expire (api/auth.ts), so a client's next request skips the
   * signature check; 0 checks every request's. Revocation is checked on every request either way. */
  AUTH_TOKEN_CACHE_MAX: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(8).optional(),
  /** npm start loads a demo catalog, sellers and a demo customer into an empty shop (no items at all); 0 turns it off. */
  DEMO_DATA: z
    .enum(['0', '1', 'false', 'true'])
    .default('1')
    .transform((v) => v === '1' || v === 'true'),
  /** The demo accounts' password (printed by npm start; demo only, never a real account). */
  DEMO_PASSWORD: z.string().min(8).default('shopflow-demo'),
  BODY_LIMIT: z.string().default('100kb'),
  /** Requests per minute: login attempts per IP, order placements per user. */
  RATE_LIMIT_LOGIN: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_ORDERS: z.coerce.number().int().positive().default(60),
  /** Prefix of the rate-limit counters in Redis (shared by every API process of one deployment). */
  RATE_LIMIT_REDIS_PREFIX: z.string().min(1).max(100).default('ratelimit:'),
  /** Express's `trust proxy`: which hops' X-Forwarded-For to believe for the client address that rate limits
   * key on. `loopback` (a proxy on this host), a hop count such as `1` (one load balancer in front), a list of
   * addresses/CIDRs, `true` (any: only behind a proxy that overwrites the header) or `false`. */
  TRUST_PROXY: z.string().min(1).default('loopback').transform(parseTrustProxy),
  /** How long an Idempotency-Key of POST /orders or checkout answers its order again (then it is deleted). */
  IDEMPOTENCY_KEY_TTL: duration.default(24 * 60 * 60_000),
  /** Purchase limits per customer (orders/purchase-limits.ts; admins exempt): live unpaid orders, units of one
   * item across live orders, and a cool-down after an order of theirs expired unpaid (0: none). */
  PURCHASE_MAX_UNPAID_ORDERS: z.coerce.number().int().positive().default(3),
  PURCHASE_MAX_UNITS_PER_ITEM: z.coerce.number().int().positive().default(10),
  PURCHASE_EXPIRED_COOLDOWN: duration.default(5 * 60_000),
  /** Catalog and search. How long an item's details stay in the Redis cache (0: no cache). */
  ITEM_CACHE_TTL: duration.default(10 * 60_000),
  /** Most lines (creates + restocks) in one POST /items/bulk; the body must also fit BODY_LIMIT. */
  ITEMS_BULK_MAX: z.coerce.number().int().positive().max(5000).default(500),
  /** The search indexer's Kafka consumer group. */
  SEARCH_INDEXER_GROUP: z.string().default('shopflow-search-indexer'),
  /** How often the indexer process cleans up after failed item writes, and how old a staged write must be. */
  CATALOG_RECONCILE_INTERVAL: duration.default(5 * 60_000),
  CATALOG_RECONCILE_AGE: duration.default(10 * 60_000),
  /** Search click events per minute per user (or per IP when anonymous). */
  RATE_LIMIT_SEARCH_CLICKS: z.coerce.number().int().positive().default(300),
  /** Account registrations per minute per IP (each costs an argon2id hash). */
  RATE_LIMIT_REGISTER: z.coerce.number().int().positive().default(20),

  // ---- Analytics and recommendations (analytics/, recommendations/, read-models/, workers/analytics.ts) ----
  /** The analytics consumer's Kafka group (instances of one group share the partitions). */
  ANALYTICS_GROUP: z.string().default('shopflow-analytics'),
  /** Prefix of every analytics and recommendation key in Redis (one environment per prefix). */
  ANALYTICS_REDIS_PREFIX: z.string().min(1).max(100).default('analytics:'),
  /** How long minute buckets of the real-time reports live (also the longest report window). */
  ANALYTICS_BUCKET_TTL: duration.default(48 * 3_600_000),
  /** How long an event id is remembered to drop redeliveries: longer than any redelivery can be late, and at
   * least the analytics topic's retention if a new consumer group may replay it into the same prefix. */
  ANALYTICS_DEDUPE_TTL: duration.default(7 * 24 * 3_600_000),
  /** Append every analytics event to Cassandra (analytics_events_by_day_bucket). */
  ANALYTICS_RAW_LOG: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** How long a user's history and the co-occurrence lists live without new activity. */
  RECS_TTL: duration.default(90 * 24 * 3_600_000),
  /** Co-occurring items kept per item, and items kept per user history list. */
  RECS_CO_CAP: z.coerce.number().int().positive().max(10_000).default(200),
  RECS_HISTORY_CAP: z.coerce.number().int().positive().max(10_000).default(200),

  // ---- Notifications (notifications/, workers/notifier.ts, api/routes/notifications.ts) ----
  /** The notifier's Kafka consumer group on shopflow.orders. */
  NOTIFICATIONS_GROUP: z.string().min(1).default('shopflow-notifications'),
  /** How notifications are delivered: email (SMTP), webhook (HTTP POST), or none (stored and marked sent). */
  NOTIFY_CHANNEL: z.enum(['email', 'webhook', 'none']).default('email'),
  /** The SMTP server (Mailpit on the native stack: SMTP 1025, web UI and API on MAILPIT_URL, port 8025). */
  SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(1025),
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  SMTP_SECURE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  NOTIFY_EMAIL_FROM: z.string().min(3).default('shopflow <notifications@shopflow.local>'),
  /** NOTIFY_CHANNEL=webhook: where each notification is POSTed, and the secret that signs the body (the
   * shopflow-signature header, as payment webhooks). */
  NOTIFY_WEBHOOK_URL: z.string().url().optional(),
  NOTIFY_WEBHOOK_SECRET: z.string().min(16).default('dev-only-notify-webhook-secret'),
  /** The sender loop: how often it looks for due notifications when idle, how many it claims per round, how
   * long one send may take (also the claim's lease), attempts before a notification is marked failed, and the
   * first retry delay (doubled per attempt, at most 10 minutes). */
  NOTIFY_POLL_INTERVAL: duration.default(500),
  NOTIFY_SEND_BATCH: z.coerce.number().int().min(1).max(500).default(20),
  NOTIFY_SEND_TIMEOUT: duration.default(15_000),
  NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  NOTIFY_RETRY_BASE: duration.default(2_000),

  // ---- Degrading under faults and load (stores/errors.ts, api/load-shedding.ts) ----
  /** The Retry-After of every 503 (a store down, or load shed), rounded up to whole seconds. */
  RETRY_AFTER: duration.default(5_000),
  /** Longest wait for a MySQL pool connection before the request fails (503): below a client's patience and
   * the activities' 10 s limit, so an outage or a full pool answers instead of queueing. */
  MYSQL_ACQUIRE_TIMEOUT: duration.default(2_000),
  /** Longest wait for one Redis command, queued or sent; a Redis that is down fails commands at once. */
  REDIS_COMMAND_TIMEOUT: duration.default(1_000),
  /** Load shedding of new orders (POST /orders, cart checkout): 503 `overloaded` when every MySQL connection is
   * in use and this many requests already wait for one, or when the oldest waiter has waited SHED_MYSQL_WAIT
   * (or, every connection still in use, one that just got a connection or gave up had waited that long),
   * or when the event loop's mean delay over the last half second exceeds SHED_EVENT_LOOP_DELAY (0: off; a
   * 200-buyer burst on the 2-core box, client in the same process, measured 400 ms, which is no reason to shed). */
  SHED_MYSQL_PENDING: z.coerce.number().int().min(0).default(300),
  SHED_MYSQL_WAIT: duration.default(1_000),
  SHED_EVENT_LOOP_DELAY: duration.default(1_000),
  /** A store's outage is logged at warn once per this interval (with a count), not once per request. */
  STORE_ERROR_LOG_INTERVAL: duration.default(10_000),
  /** HTTP server: idle keep-alive sockets are kept longer than clients and proxies keep theirs (so the client,
   * not the server, closes an idle socket and never reuses one the server just closed); a request's headers
   * and whole body must arrive within these. */
  HTTP_KEEP_ALIVE_TIMEOUT: duration.default(65_000),
  HTTP_HEADERS_TIMEOUT: duration.default(20_000),
  HTTP_REQUEST_TIMEOUT: duration.default(60_000),

  // ---- Reads and the flash sale at the machine's limit (issue 12) ----
  /** API processes behind one port (node:cluster, api/cluster.ts); 0: one per core. */
  API_PROCESSES: z.coerce.number().int().min(0).max(64).default(0),
  /** How the API processes get their connections: `none` (default), each accepts from the shared socket itself;
   * `rr`, node's round robin, the primary accepts every connection and hands it to a process over IPC. Measured
   * on the 2-core box (bench:http, two A/B pairs): `none` answered 1.3-1.7x the requests/s of `rr` on item reads
   * and 1.1-1.8x on sold-out orders, with a lower p99; a burst of 2,000 new connections is shared out by
   * accepting one connection per event-loop turn (api/cluster.ts). */
  API_CLUSTER_SCHEDULING: z.enum(['none', 'rr']).default('none'),
  /** Analytics events (views, searches, cart adds) are written to the outbox by group commit
   * (analytics/outbox-buffer.ts): every this often, or at once when FLUSH_MAX wait. A kill -9 of an API process
   * loses at most BUFFER_MAX of them (past it, requests wait for their event's commit). */
  ANALYTICS_FLUSH_INTERVAL: duration.default(20),
  ANALYTICS_FLUSH_MAX: z.coerce.number().int().min(1).max(5000).default(200),
  ANALYTICS_BUFFER_MAX: z.coerce.number().int().min(1).max(100_000).default(2000),
  /** GET /items/{id} from Redis (catalog/item-views.ts): how long a cached item lives at most if no change
   * reaches it (every write and stock event drops it at once); 0: no cache. */
  ITEM_VIEW_TTL: duration.default(60_000),
  /** How long an account's auth state (role, token version, approval) is shared from Redis (users/auth-states.ts):
   * a change through the API is seen at once; one made in MySQL by hand within this. 0: MySQL on every request. */
  AUTH_CACHE_TTL: duration.default(10_000),
  /** How long one search's results are shared from Redis (the stale window of search results); 0: no cache. */
  SEARCH_CACHE_TTL: duration.default(2_000),
  /** GET /search counts matches exactly up to this many (X-Total-Count-Relation: eq), then says "at least"
   * (gte). Higher costs the engine more on broad queries; the result window (10,000) is the useful maximum. */
  SEARCH_EXACT_TOTAL_UP_TO: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** Search requests a process has in flight to the engine at most; searches that arrive meanwhile wait and go
   * together in the next (`_msearch`, stores/search/batching.ts), up to SEARCH_BATCH_MAX per request. */
  SEARCH_BATCH_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(2),
  SEARCH_BATCH_MAX: z.coerce.number().int().min(1).max(200).default(32),
  /** Searches a process lets wait for a free engine request at most; past it a search is answered 503 at once. */
  SEARCH_BATCH_WAITING_MAX: z.coerce.number().int().min(0).max(10_000).default(64),
  /** Cache-Control max-age of catalog reads (GET /items/{id}, /search, listings); with ETag, a client revalidates
   * after it (304 when nothing changed). */
  CATALOG_MAX_AGE: duration.default(1_000),
  /** The Kafka consumer group that drops cached items on stock and item events (in the search-indexer process). */
  ITEM_CACHE_GROUP: z.string().min(1).default('shopflow-item-cache'),
});

export type Config = z.infer<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${issues}`);
  }
  const cfg = parsed.data;
  refuseUnsafeOutsideDevMode(cfg);
  return cfg;
}

/** The secrets that sign tokens and webhooks: their dev-only defaults are public (they are in this repo). */
const SIGNING_SECRETS = ['JWT_SECRET', 'PAYMENT_WEBHOOK_SECRET', 'NOTIFY_WEBHOOK_SECRET'] as const;
const secretsInUse = (cfg: Config) =>
  SIGNING_SECRETS.filter((n) => n !== 'NOTIFY_WEBHOOK_SECRET' || cfg.NOTIFY_CHANNEL === 'webhook');

/** Fails closed: outside SHOPFLOW_DEV_MODE a dev-only or short signing secret, or the simulated gateway, stops
 * the process at start (whatever NODE_ENV says), since with them anyone can sign an admin token, forge a
 * payment webhook, or pay with a test card. */
function refuseUnsafeOutsideDevMode(cfg: Config): void {
  if (cfg.SHOPFLOW_DEV_MODE) return;
  for (const name of secretsInUse(cfg)) {
    if (cfg[name].startsWith('dev-only'))
      throw new Error(
        `${name} is the public dev-only default: set a secret of your own (or SHOPFLOW_DEV_MODE=1 for local development)`,
      );
    if (cfg[name].length < 32) throw new Error(`${name} must be at least 32 characters (e.g. openssl rand -base64 48)`);
  }
  if (cfg.METRICS_TOKEN?.startsWith('dev-only'))
    throw new Error(
      'METRICS_TOKEN is the public dev-only default: set a secret of your own (or SHOPFLOW_DEV_MODE=1 for local development)',
    );
  if (cfg.PAYMENT_GATEWAY === 'simulator') {
    throw new Error(
      'PAYMENT_GATEWAY=simulator (test payment methods, every order free) is allowed only with SHOPFLOW_DEV_MODE=1',
    );
  }
}

let cached: Config | undefined;
/** The process's configuration (read once). */
export function config(): Config {
  return (cached ??= loadConfig());
}
