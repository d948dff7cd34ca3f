/** The contract's error format: `{"error": {"code", "message", "details?"}}`, for every failure of every route. */
import { STATUS_CODES, Server } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { DomainError, ErrorKind } from '../lib/errors';
import { logger } from '../lib/logger';
import { classifyStoreError, storeFaults, StoreName } from '../stores/errors';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new ApiError(400, 'invalid_request', message, details);
export const unauthorized = (message = 'a valid bearer token is required') =>
  new ApiError(401, 'unauthorized', message);
export const forbidden = (message = 'you may not do this') => new ApiError(403, 'forbidden', message);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string, details?: unknown) => new ApiError(409, code, message, details);

/** 503: a store is down (`service_unavailable`) or the API sheds load (`overloaded`); Retry-After is added by
 * `unavailableStores` below. `store` names the store (or `api` for the process itself). */
export const unavailable = (store: StoreName | 'api', kind: 'unavailable' | 'overloaded', message?: string) =>
  new ApiError(
    503,
    kind === 'overloaded' ? 'overloaded' : 'service_unavailable',
    message ??
      (kind === 'overloaded'
        ? `too busy right now (${store}); try again shortly`
        : `a service this needs (${store}) is unavailable right now; try again shortly`),
    { store },
  );

/** The one place where a domain error's kind becomes an HTTP status. */
const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  limited: 429,
  unavailable: 503,
};
// The contract's few codes whose status is not their kind's.
const STATUS_OF_CODE: Record<string, number> = { idempotency_key_reused: 422 };

export const fromDomain = (e: DomainError) =>
  new ApiError(STATUS_OF_CODE[e.code] ?? STATUS_OF_KIND[e.kind], e.code, e.message, e.details);

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

const CODES: Record<number, string> = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** A request that carries a body must say it is JSON (415 otherwise, rather than a confusing 400). */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBody && !req.is(['application/json', 'application/*+json'])) {
    return next(new ApiError(415, 'unsupported_media_type', 'send the body as application/json'));
  }
  next();
};

export const routeNotFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('not_found', `no route for ${req.method} ${req.path}`));
};

/**
 * Before the last handler: an error that says a store is down or saturated (stores/errors.ts) becomes a 503 in
 * the contract's format, logged once per store per interval (not per request); every 503 gets Retry-After.
 */
export function unavailableStores(retryAfterMs: number): ErrorRequestHandler {
  const retryAfter = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return (err, req, res, next) => {
    let e = err instanceof DomainError ? fromDomain(err) : err;
    if (!(e instanceof ApiError)) {
      const fault = classifyStoreError(e);
      if (fault) {
        storeFaults.note(fault, e, `store ${fault.store} ${fault.kind}: answering 503`, { path: req.path });
        e = unavailable(fault.store, fault.kind);
      }
    }
    if (e instanceof ApiError && e.status === 503 && !res.headersSent && !res.getHeader('Retry-After'))
      res.setHeader('Retry-After', retryAfter);
    next(e);
  };
}

/** Last handler: known errors keep their status; body-parser's errors become 4xx; anything else is a 500
 * with no stack trace in the response (the log has it). */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (res.headersSent) return;
  if (err instanceof DomainError) err = fromDomain(err);
  if (err instanceof ApiError) {
    // RFC 6750: a missing or bad bearer token names the scheme the client should use.
    if (err.status === 401 && err.code === 'unauthorized') res.setHeader('WWW-Authenticate', 'Bearer realm="shopflow"');
    res.status(err.status).json(errorBody(err.code, err.message, err.details));
    return;
  }
  const type = (err as { type?: string }).type;
  const status =
    (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
  if (type === 'entity.parse.failed') {
    res.status(400).json(errorBody('invalid_json', 'the request body is not valid JSON'));
    return;
  }
  if (type === 'entity.too.large') {
    res.status(413).json(errorBody('payload_too_large', 'the request body is too large'));
    return;
  }
  // Everything else express and body-parser refuse (a bad charset or encoding, a path that is not valid
  // percent-encoding, an aborted body): their status, our format. Their messages name no internals.
  if (status && status >= 400 && status < 500) {
    res.status(status).json(errorBody(CODES[status] ?? 'bad_request', (err as Error).message));
    return;
  }
  logger.error({ err, reqId: (req as { id?: unknown }).id, path: req.path }, 'unhandled error');
  res.status(500).json(errorBody('internal', 'something went wrong on our side; it has been logged'));
};

/** Requests so malformed that Node's HTTP parser refuses them (bad header characters, oversized headers)
 * never reach express; Node would answer an empty 400. This answers them in the error format too. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, code] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request_timeout']
          : [400, 'malformed_request'];
    const body = JSON.stringify(
      errorBody(code, status === 400 ? 'the HTTP request is malformed' : STATUS_CODES[status]!.toLowerCase()),
    );
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
