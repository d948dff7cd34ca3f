/** Jest runs the TypeScript sources through ts-jest (type-checked by `npm run typecheck`, not here). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/dev-mode.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testTimeout: 120000,
  // Integration tests share one MySQL schema and one Temporal namespace: run files one at a time.
  maxWorkers: 1,
  // Store drivers (kafkajs, cassandra-driver) keep timers for a moment after close.
  forceExit: true,
};
