/**
 * Applies every store's schema: MySQL migrations, the Cassandra keyspace and tables, Mongo indexes, the search
 * index and the Kafka topics. Re-running it is harmless.
 */
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from '../stores/mysql/client';
import { migrateMysql } from '../stores/mysql/migrate';
import { createCassandra } from '../stores/cassandra/client';
import { applyCassandraSchema } from '../stores/cassandra/schema';
import { createMongo } from '../stores/mongo/client';
import { applyMongoIndexes } from '../stores/mongo/indexes';
import { createSearch } from '../stores/search';
import { createKafka, ensureTopics } from '../stores/kafka/client';
import type { Config } from '../lib/config';

export async function migrateAll(cfg: Config): Promise<void> {
  const mysql = createMysql(cfg.MYSQL_URL);
  try {
    const applied = await migrateMysql(mysql);
    logger.info({ applied }, 'mysql schema up to date');
  } finally {
    await mysql.destroy();
  }
  const cassandra = createCassandra(cfg);
  try {
    await applyCassandraSchema(cassandra, cfg.CASSANDRA_KEYSPACE);
    logger.info({ keyspace: cfg.CASSANDRA_KEYSPACE }, 'cassandra schema up to date');
  } finally {
    await cassandra.shutdown();
  }
  const mongo = createMongo(cfg.MONGO_URL);
  try {
    await mongo.connect();
    await applyMongoIndexes(mongo.db());
    logger.info('mongo indexes up to date');
  } finally {
    await mongo.close();
  }
  const search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, cfg.SEARCH_INDEX);
  try {
    await search.ensureIndex();
    logger.info({ index: cfg.SEARCH_INDEX }, 'search index ready');
  } finally {
    await search.close();
  }
  await ensureTopics(createKafka(cfg.KAFKA_BROKERS, `${cfg.KAFKA_CLIENT_ID}-migrate`));
  logger.info('kafka topics ready');
}

if (require.main === module) {
  migrateAll(config()).catch((err) => {
    logger.fatal({ err }, 'migration failed');
    process.exit(1);
  });
}
