/**
 * The platform in one process for the API fuzzer (scripts/fuzz.sh): the API on a free port of 127.0.0.1, the payment simulator and an order worker, on the stores the environment names (fuzz.sh
 * points them at the test stores). Makes three items with ample stock and writes their ids to `<file>.items`,
 * then the base URL to the file given as the first argument, and stops cleanly on SIGTERM/SIGINT.
 */
import { writeFileSync } from 'node:fs';
import { startPlatform } from '../test/support/platform';
import { makeItem } from '../test/support/fixtures';
import { logger } from '../lib/logger';

async function main(): Promise<void> {
  const urlFile = process.argv[2];
  const p = await startPlatform();
  // Items the fuzzer can put in carts and orders (plenty of stock, so orders are created, not refused).
  const items = await Promise.all(
    [1, 2, 3].map((n) => makeItem(p.stores.mysql, { stock: 1_000_000, price: n * 9.99, name: `Fuzz item ${n}` })),
  );
  if (urlFile) {
    writeFileSync(`${urlFile}.items`, items.join('\n') + '\n');
    writeFileSync(urlFile, p.baseUrl);
  }
  logger.info({ baseUrl: p.baseUrl }, 'fuzz platform listening');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void p.stop().finally(() => process.exit(0));
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  logger.fatal({ err }, 'fuzz platform failed to start');
  process.exit(1);
});
