/**
 * The search indexer process: a Kafka consumer (group SEARCH_INDEXER_GROUP) on shopflow.items and
 * shopflow.inventory that keeps the items index current (search/indexer.ts), plus the catalog's periodic
 * reconcile of failed item writes, and the item-cache consumer (catalog/item-view-events.ts, group
 * ITEM_CACHE_GROUP) that drops cached GET /items/{id} answers on item and stock events. `--reindex` first
 * indexes every item from MySQL (a backfill).
 * Stops cleanly on SIGTERM/SIGINT.
 */
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from '../stores/mysql/client';
import { createMongo } from '../stores/mongo/client';
import { createKafka, ensureTopics } from '../stores/kafka/client';
import { createSearch } from '../stores/search';
import { ItemDetailsStore } from '../catalog/details';
import { SearchIndexConsumer, SearchIndexer } from '../search/indexer';
import { createRedis } from '../stores/redis/client';
import { ItemViewCache } from '../catalog/item-views';
import { ItemViewEvents } from '../catalog/item-view-events';
import { ConsumerMetrics } from '../stores/kafka/consumer';
import { MetricsServer } from '../telemetry/metrics-server';
import { initTracing } from '../telemetry/tracing';

async function main(): Promise<void> {
  const cfg = config();
  const tracing = initTracing(cfg, 'search-indexer');
  const log = logger.child({ component: 'search-indexer' });
  const metrics = new MetricsServer();
  await metrics.listen(cfg.SEARCH_INDEXER_METRICS_PORT);
  const mysql = createMysql(cfg.MYSQL_URL, 10);
  const mongo = createMongo(cfg.MONGO_URL);
  await mongo.connect();
  const search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, cfg.SEARCH_INDEX);
  await search.ensureIndex();
  const kafka = createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-search-indexer`);
  await ensureTopics(kafka);

  const indexer = new SearchIndexer(mysql, mongo.db(), search, log);
  if (process.argv.includes('--reindex')) log.info(await indexer.reindexAll(), 'reindexed every item');
  const consumerMetrics = new ConsumerMetrics(metrics.registry);
  const consumer = new SearchIndexConsumer(kafka, indexer, log, {
    groupId: cfg.SEARCH_INDEXER_GROUP,
    fromBeginning: true,
    metrics: consumerMetrics,
  });
  await consumer.start();
  const redis = createRedis(cfg.REDIS_URL, { commandTimeoutMs: cfg.REDIS_COMMAND_TIMEOUT });
  const itemCache = new ItemViewEvents(
    kafka,
    new ItemViewCache(redis, cfg.ITEM_VIEW_TTL),
    log,
    cfg.ITEM_CACHE_GROUP,
    consumerMetrics,
  );
  if (cfg.ITEM_VIEW_TTL > 0) await itemCache.start();

  const details = new ItemDetailsStore(mongo.db());
  const reconcile = setInterval(() => {
    details
      .reconcile(mysql, cfg.CATALOG_RECONCILE_AGE)
      .then((r) => (r.scanned > 0 ? log.info(r, 'catalog reconcile') : undefined))
      .catch((err) => log.warn({ err }, 'catalog reconcile failed; next round retries'));
  }, cfg.CATALOG_RECONCILE_INTERVAL);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'search indexer stopping');
    clearInterval(reconcile);
    await consumer.stop();
    await itemCache.stop();
    await Promise.allSettled([
      mysql.destroy(),
      mongo.close(),
      search.close(),
      redis.quit(),
      metrics.close(),
      tracing.shutdown(),
    ]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  logger.fatal({ err }, 'search indexer failed');
  process.exit(1);
});
