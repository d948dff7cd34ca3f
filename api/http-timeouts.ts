import type { Server } from 'node:http';
import type { Config } from '../lib/config';

/**
 * Socket timeouts so that no connection is dropped under load. An idle keep-alive socket is kept longer than
 * clients and proxies keep theirs (Node's default, 5 s, is shorter than many: a client then reuses a socket the
 * server is closing and sees ECONNRESET). The headers and the body of a request must arrive within their limits
 * (slow senders do not hold sockets forever); the time the API takes to answer is not limited here: every store
 * wait is bounded instead (MYSQL_ACQUIRE_TIMEOUT, REDIS_COMMAND_TIMEOUT, the clients' timeouts).
 */
export function applyHttpTimeouts(
  server: Server,
  cfg: Pick<Config, 'HTTP_KEEP_ALIVE_TIMEOUT' | 'HTTP_HEADERS_TIMEOUT' | 'HTTP_REQUEST_TIMEOUT'>,
): void {
  server.keepAliveTimeout = cfg.HTTP_KEEP_ALIVE_TIMEOUT;
  // Node refuses a headers timeout above the request timeout.
  server.requestTimeout = Math.max(cfg.HTTP_REQUEST_TIMEOUT, cfg.HTTP_HEADERS_TIMEOUT);
  server.headersTimeout = cfg.HTTP_HEADERS_TIMEOUT;
}
