/**
 * `npm run chaos` (scripts/chaos.sh starts the stack and the platform, then runs this): one round per fault
 * against the platform started by `npm start`, then the table. Exits non-zero when any invariant failed.
 */
import os from 'node:os';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { createCassandra } from '../../stores/cassandra/client';
import { createKafka } from '../../stores/kafka/client';
import { OrderArchive } from '../../orders/archive';
import { faultByName, run } from './faults';
import { runRound, RoundResult, waitForQuiet } from './run';
import { details, table } from './report';
import { loadChaosSettings } from './settings';
import { REPO_DIR, stackStateDir, temporalCliPath, ChaosTarget } from './target';

const log = (m: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${m}`);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<number> {
  const cfg = loadConfig();
  const settings = loadChaosSettings();
  for (const url of [
    cfg.MYSQL_URL,
    `http://${cfg.TEMPORAL_ADDRESS}`,
    cfg.PAYMENT_GATEWAY_URL,
    `http://${cfg.KAFKA_BROKERS.split(',')[0]}`,
  ]) {
    const host = new URL(url).hostname;
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host))
      throw new Error(`the chaos suite runs on loopback addresses only, not ${url}`);
  }
  const mysql = createMysql(cfg.MYSQL_URL, 10);
  const cassandra = createCassandra(cfg, cfg.CASSANDRA_KEYSPACE);
  const target: ChaosTarget = {
    apiUrl: `http://127.0.0.1:${cfg.PORT}`,
    gatewayUrl: cfg.PAYMENT_GATEWAY_URL,
    mysql,
    archive: new OrderArchive(cassandra, mysql),
    kafka: createKafka(cfg.KAFKA_BROKERS, 'shopflow-chaos'),
    temporalAddress: cfg.TEMPORAL_ADDRESS,
    temporalNamespace: cfg.TEMPORAL_NAMESPACE,
    temporalCli: temporalCliPath(),
    repoDir: REPO_DIR,
    stateDir: stackStateDir(),
    paymentTimeoutMs: cfg.ORDER_PAYMENT_TIMEOUT,
    latePaymentWindowMs: cfg.ORDER_LATE_PAYMENT_WINDOW,
    // The way `npm start` starts it: scripts/start.sh starts whatever app process is not running.
    restartApp: async () => void (await run('bash', ['scripts/start.sh'], REPO_DIR, 180_000)),
  };
  const o = settings.round;
  log(
    `faults: ${settings.faults.join(', ')}; ${o.ratePerSecond} orders/s for ${o.streamMs / 1000}s, fault at ${o.injectAtMs / 1000}s, healed ${o.healAfterMs / 1000}s later; payment timeout ${cfg.ORDER_PAYMENT_TIMEOUT / 1000}s, late window ${cfg.ORDER_LATE_PAYMENT_WINDOW / 1000}s; load ${load()}`,
  );
  const results: RoundResult[] = [];
  try {
    for (const name of settings.faults) {
      await waitForQuiet(target, 180_000, log);
      log(`--- ${name} (load ${load()})`);
      const r = await runRound(target, faultByName(name), o, log);
      results.push(r);
      log(`${name}: ${r.violations.length ? `FAIL (${r.violations.length})` : 'ok'}`);
    }
  } finally {
    await Promise.allSettled([mysql.destroy(), cassandra.shutdown()]);
  }
  console.log(
    `\n${table(results)}\n\n${details(results)}\n\nload average at the end: ${load()} (${os.cpus().length} cores)`,
  );
  return results.some((r) => r.violations.length > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
