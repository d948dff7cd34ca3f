/**
 * `npm start` runs this after the migrations: on an empty shop it loads the demo catalog (demo/seed.ts) and
 * prints the demo accounts; with DEMO_DATA=0, or on a shop that holds items, it does nothing.
 */
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { createMysql } from '../stores/mysql/client';
import { createMongo } from '../stores/mongo/client';
import { createRedis } from '../stores/redis/client';
import { createSearch } from '../stores/search';
import { loadDemoData } from '../demo/seed';

async function main(): Promise<void> {
  const cfg = config();
  if (!cfg.DEMO_DATA) {
    console.log('demo data: off (DEMO_DATA=0)');
    return;
  }
  const mysql = createMysql(cfg.MYSQL_URL, 5);
  const mongo = createMongo(cfg.MONGO_URL);
  const redis = createRedis(cfg.REDIS_URL);
  const search = createSearch(cfg.SEARCH_ENGINE, cfg.SEARCH_URL, cfg.SEARCH_INDEX);
  try {
    await mongo.connect();
    const out = await loadDemoData({ mysql, mongo: mongo.db(), redis, search }, cfg.DEMO_PASSWORD, logger);
    if (!out.loaded) {
      console.log(`demo data: not loaded (${out.reason})`);
      return;
    }
    console.log(
      `demo data: ${out.items} items (${out.indexed} indexed for search), sellers ${out.sellers.map((x) => x.email).join(', ')}`,
    );
    console.log(
      `demo customer: ${out.customer.email} / ${cfg.DEMO_PASSWORD} (user id ${out.customer.user_id}); sellers use the same password`,
    );
  } finally {
    await Promise.allSettled([mysql.destroy(), mongo.close(), redis.quit(), search.close()]);
  }
}

main().catch((err) => {
  logger.fatal({ err }, 'loading the demo data failed');
  process.exit(1);
});
