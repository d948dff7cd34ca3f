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
export type { Redis };
