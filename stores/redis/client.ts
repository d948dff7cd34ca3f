import Redis from 'ioredis';

export interface RedisOptions {
  /** Longest wait for one command, queued or sent (REDIS_COMMAND_TIMEOUT). */
  commandTimeoutMs?: number;
  /** Queue commands while (re)connecting (default). Off, a command fails at once while Redis is down: what the
   * API wants (optional features skip Redis, required ones answer 503 at once). */
  offlineQueue?: boolean;
}

export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: opts.offlineQueue === false ? 1 : 3,
    enableReadyCheck: true,
    enableAutoPipelining: true,
    lazyConnect: false,
    enableOfflineQueue: opts.offlineQueue ?? true,
    ...(opts.commandTimeoutMs ? { commandTimeout: opts.commandTimeoutMs } : {}),
    // Reconnect every 50 ms, 100 ms, ... at most every second (the default waits up to 2 s between tries).
    retryStrategy: (times) => Math.min(times * 50, 1000),
  });
}

/**
 * A client whose every command ends within `commandTimeoutMs` whatever state Redis is in: it fails at once
 * while Redis is down (no offline queue) and after the timeout when Redis hangs. For processes to which Redis
 * is a cache or a gate they can go on without: the API, and the order worker.
 *
 * Why the worker too: with the offline queue a command issued during an outage waits for four reconnect tries,
 * which after a few seconds of outage are a second apart, so each best-effort Redis activity (the order mirror)
 * held an activity slot for up to 4 s. The saga's next steps (claiming orders, charging) then queued behind
 * them, workflow tasks missed their sticky queue and were replayed from scratch, and a chaos run's Redis
 * restart left orders without a saga for ~50 s (past their payment window). Failing fast, the activity fails
 * in a moment and Temporal retries it later without holding a slot.
 */
export function createFailFastRedis(url: string, commandTimeoutMs: number): Redis {
  const redis = createRedis(url, { commandTimeoutMs, offlineQueue: false });
  // Without a listener ioredis prints every failed reconnect to the console; an outage surfaces per command.
  redis.on('error', () => undefined);
  return redis;
}
export type { Redis };
