/**
 * The store-fault classifier (stores/errors.ts) on the store clients' own error classes, built as the clients
 * build them: what says "down or saturated" is a 503 for its store; a bug or a bad request stays what it is.
 * (The integration test degrade.test.ts gets the connection-refused ones from the real clients.)
 */
import { ServiceError } from '@temporalio/client';
import { MongoNetworkError, MongoServerSelectionError, MongoServerError } from 'mongodb';
import { errors as osErrors } from '@opensearch-project/opensearch';
import { errors as cassandraErrors, types as cassandraTypes } from 'cassandra-driver';
import { KafkaJSConnectionError, KafkaJSNonRetriableError } from 'kafkajs';
import { KnexTimeoutError } from 'knex';
import { ReplyError } from 'ioredis';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MaxRetriesPerRequestError } = require('ioredis/built/errors');
import { classifyStoreError, StoreFaultLog } from '../../stores/errors';
import { createMysql } from '../../stores/mysql/client';
import { LoadMonitor } from '../../api/load-shedding';

const mysql2Error = (code: string, fatal: boolean, errno?: number) =>
  Object.assign(new Error(code), { code, fatal, errno, sqlState: 'HY000' });
const grpc = (code: number) => Object.assign(new Error(`${code} status`), { code, details: 'status', metadata: {} });
const osResponse = (statusCode: number) =>
  new osErrors.ResponseError({ body: {}, statusCode, headers: {}, meta: {} as never, warnings: null } as never);

test.each([
  [
    'knex pool timeout',
    new KnexTimeoutError('Knex: Timeout acquiring a connection'),
    { store: 'mysql', kind: 'overloaded' },
  ],
  [
    'mysql2 connection refused',
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', fatal: true, errno: -111 }),
    { store: 'mysql', kind: 'unavailable' },
  ],
  ['mysql2 connection lost', mysql2Error('PROTOCOL_CONNECTION_LOST', true), { store: 'mysql', kind: 'unavailable' }],
  ['server shutting down', mysql2Error('ER_SERVER_SHUTDOWN', false, 1053), { store: 'mysql', kind: 'unavailable' }],
  ['lock wait timeout', mysql2Error('ER_LOCK_WAIT_TIMEOUT', false, 1205), { store: 'mysql', kind: 'overloaded' }],
  ['too many connections', mysql2Error('ER_CON_COUNT_ERROR', true, 1040), { store: 'mysql', kind: 'overloaded' }],
  ['ioredis gave up on a command', new MaxRetriesPerRequestError(1), { store: 'redis', kind: 'unavailable' }],
  [
    'ioredis without a connection',
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    { store: 'redis', kind: 'unavailable' },
  ],
  ['ioredis command timeout', new Error('Command timed out'), { store: 'redis', kind: 'unavailable' }],
  [
    'redis loading its data',
    new ReplyError('LOADING Redis is loading the dataset in memory'),
    { store: 'redis', kind: 'overloaded' },
  ],
  ['kafkajs connection', new KafkaJSConnectionError('Connection error'), { store: 'kafka', kind: 'unavailable' }],
  [
    'kafkajs retries exhausted, wrapping a connection error',
    Object.assign(new KafkaJSNonRetriableError(new KafkaJSConnectionError('x')), {
      name: 'KafkaJSNumberOfRetriesExceeded',
    }),
    { store: 'kafka', kind: 'unavailable' },
  ],
  ['cassandra no host', new cassandraErrors.NoHostAvailableError({}), { store: 'cassandra', kind: 'unavailable' }],
  [
    'cassandra timeout',
    new cassandraErrors.OperationTimedOutError('timed out'),
    { store: 'cassandra', kind: 'unavailable' },
  ],
  [
    'cassandra overloaded',
    new cassandraErrors.ResponseError(cassandraTypes.responseErrorCodes.overloaded, 'overloaded'),
    { store: 'cassandra', kind: 'overloaded' },
  ],
  [
    'mongo server selection',
    new MongoServerSelectionError('no server', {} as never),
    { store: 'mongodb', kind: 'unavailable' },
  ],
  ['mongo network', new MongoNetworkError('reset'), { store: 'mongodb', kind: 'unavailable' }],
  [
    'opensearch connection',
    new osErrors.ConnectionError('refused', {} as never),
    { store: 'search', kind: 'unavailable' },
  ],
  ['opensearch timeout', new osErrors.TimeoutError('slow', {} as never), { store: 'search', kind: 'unavailable' }],
  ['opensearch 429', osResponse(429), { store: 'search', kind: 'overloaded' }],
  ['opensearch 503', osResponse(503), { store: 'search', kind: 'unavailable' }],
  [
    'temporal unavailable',
    new ServiceError('Failed to start Workflow', { cause: grpc(14) }),
    { store: 'temporal', kind: 'unavailable' },
  ],
  [
    'temporal deadline',
    new ServiceError('Failed to start Workflow', { cause: grpc(4) }),
    { store: 'temporal', kind: 'unavailable' },
  ],
  [
    'temporal resource exhausted',
    new ServiceError('Failed', { cause: grpc(8) }),
    { store: 'temporal', kind: 'overloaded' },
  ],
])('%s: a store fault', (_what, err, fault) => {
  expect(classifyStoreError(err)).toEqual(fault);
});

test.each([
  ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ['a duplicate key', mysql2Error('ER_DUP_ENTRY', false, 1062)],
  ['bad SQL', mysql2Error('ER_PARSE_ERROR', false, 1064)],
  ['a mongo write conflict', new MongoServerError({ message: 'duplicate key', code: 11000 })],
  ['an opensearch 400', osResponse(400)],
  ['cassandra bad query', new cassandraErrors.ResponseError(cassandraTypes.responseErrorCodes.syntaxError, 'syntax')],
  ['temporal: not found', new ServiceError('no such workflow', { cause: grpc(5) })],
  ['not an error at all', undefined],
])('%s: not a store fault (stays a 4xx or a 500)', (_what, err) => {
  expect(classifyStoreError(err)).toBeUndefined();
});

test('a store outage is logged once per interval, with the count of what was not logged', () => {
  let now = 0;
  const lines: { store: string; suppressedSinceLast: number }[] = [];
  const log = new StoreFaultLog(
    () => 10_000,
    () => now,
    { warn: ((obj: { store: string; suppressedSinceLast: number }) => void lines.push(obj)) as never },
  );
  const fault = { store: 'redis', kind: 'unavailable' } as const;
  for (let i = 0; i < 100; i++) {
    now += 99; // 100 requests within 10 s
    log.note(fault, new Error('down'), 'redis down');
  }
  expect(lines).toHaveLength(1);
  now += 10_000;
  log.note(fault, new Error('down'), 'redis down');
  log.note({ store: 'mysql', kind: 'unavailable' }, new Error('down'), 'mysql down'); // each store its own interval
  expect(lines.map((l) => [l.store, l.suppressedSinceLast])).toEqual([
    ['redis', 0],
    ['redis', 99],
    ['mysql', 0],
  ]);
});

test('a lagging event loop sheds new orders (sustained delay, not one pause)', async () => {
  const mysql = createMysql('mysql://u:p@127.0.0.1:1/none', 2);
  const monitor = new LoadMonitor(mysql, {
    SHED_MYSQL_PENDING: 100,
    SHED_MYSQL_WAIT: 60_000,
    SHED_EVENT_LOOP_DELAY: 50,
  });
  try {
    expect(monitor.overload()).toBeUndefined();
    // Keep the loop busy 100 ms at a time for a second and a half: every timer fires about 100 ms late.
    const until = Date.now() + 1500;
    await new Promise<void>((resolve) => {
      const spin = () => {
        const t = Date.now();
        while (Date.now() - t < 100) {
          /* busy */
        }
        if (Date.now() < until) setTimeout(spin, 0);
        else resolve();
      };
      spin();
    });
    expect(monitor.overload()).toEqual({ store: 'api', reason: 'event_loop_delay' });
  } finally {
    monitor.close();
    await mysql.destroy();
  }
});
