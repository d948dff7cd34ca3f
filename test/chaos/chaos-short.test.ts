/**
 * The short chaos suite in `npm test` (issue 11): the stack's MariaDB and Temporal are SIGKILLed under a small
 * order stream and started again (`bash stack/stack.sh up <server>`), against the in-process platform; money,
 * stock, events and the API must hold. The full suite is `npm run chaos`. Skipped when this clone's stack did
 * not start those servers (a pid file in .stack/run/): it never kills a server it does not own; and when
 * CHAOS_SHORT=skip (a stack others are testing against at the same time).
 */
import { startPlatform, Platform } from '../support/platform';
import { OrderArchive } from '../../orders/archive';
import { SagaSweeper } from '../../orders/saga-sweeper';
import { logger } from '../../lib/logger';
import { faultByName, recordedPid } from './faults';
import { runRound, RoundOptions } from './run';
import { details, table } from './report';
import { ChaosTarget, REPO_DIR, stackStateDir, temporalCliPath } from './target';

const stateDir = stackStateDir();
const owned = recordedPid(stateDir, 'mariadb') !== undefined && recordedPid(stateDir, 'temporal') !== undefined;
const maybe = owned && process.env.CHAOS_SHORT !== 'skip' ? describe : describe.skip;

const round: RoundOptions = {
  ratePerSecond: 5,
  streamMs: 8_000,
  injectAtMs: 2_000,
  healAfterMs: 3_000,
  buyers: 4,
  initialStock: 10_000,
  requestTimeoutMs: 20_000,
  settleMs: 20_000,
  settleGraceMs: 60_000,
  settleStallMs: 15_000,
  recoverMs: 60_000,
};

maybe('chaos (short): a server killed under a stream of orders', () => {
  let p: Platform;
  let target: ChaosTarget;
  let sweeper: SagaSweeper;

  beforeAll(async () => {
    p = await startPlatform({
      relay: true,
      env: {
        ORDER_PAYMENT_TIMEOUT: '5s',
        ORDER_LATE_PAYMENT_WINDOW: '5s',
        ORDER_RESERVE_DEADLINE: '2s',
        RATE_LIMIT_REGISTER: '100000',
        RATE_LIMIT_LOGIN: '100000',
      },
    });
    // As in workers/main.ts: the sweeper starts the sagas of orders reserved while Temporal was away.
    sweeper = new SagaSweeper(p.stores.mysql, p.stores.redis, p.stores.temporal, p.cfg, logger);
    sweeper.start();
    target = {
      apiUrl: p.baseUrl,
      gatewayUrl: p.cfg.PAYMENT_GATEWAY_URL,
      mysql: p.stores.mysql,
      archive: new OrderArchive(p.stores.cassandra, p.stores.mysql),
      kafka: p.stores.kafka,
      temporalAddress: p.cfg.TEMPORAL_ADDRESS,
      temporalNamespace: p.cfg.TEMPORAL_NAMESPACE,
      temporalCli: temporalCliPath(),
      repoDir: REPO_DIR,
      stateDir,
      paymentTimeoutMs: p.cfg.ORDER_PAYMENT_TIMEOUT,
      latePaymentWindowMs: p.cfg.ORDER_LATE_PAYMENT_WINDOW,
    };
  }, 60_000);
  afterAll(async () => {
    sweeper?.stop();
    await p?.stop();
  });

  test.each(['mariadb', 'temporal'])(
    '%s: SIGKILL and restart keep money, stock, events and the API whole',
    async (name) => {
      const r = await runRound(target, faultByName(name), round, () => undefined);
      // On failure the message is the suite's own report: the row and each failed invariant with example ids.
      if (r.violations.length > 0)
        throw new Error(`the invariants failed under the ${name} fault:\n${table([r])}\n${details([r])}`);
      expect(r.findings.api.accepted).toBeGreaterThan(0);
    },
    240_000,
  );
});
