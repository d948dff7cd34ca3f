/**
 * Errors that domain code throws when a request cannot be done: a kind (what went wrong, in the domain's
 * words), a stable code and a message for the caller, and optional details. The HTTP layer alone turns kinds
 * into statuses (api/errors.ts); domain code never names a status.
 */
export type ErrorKind =
  | 'invalid' // the request itself is wrong
  | 'not_found' // something it names does not exist
  | 'forbidden' // the caller may not do this
  | 'conflict' // the current state does not allow it
  | 'limited' // a per-caller limit is reached: try again later
  | 'unavailable'; // something it needs is busy or down: try again shortly

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const invalid = (message: string, details?: unknown, code = 'invalid_request') =>
  new DomainError('invalid', code, message, details);
export const notFound = (what: string) => new DomainError('not_found', 'not_found', `${what} not found`);
export const forbidden = (message = 'you may not do this') => new DomainError('forbidden', 'forbidden', message);
export const conflict = (code: string, message: string, details?: unknown) =>
  new DomainError('conflict', code, message, details);
