/** Which Cassandra failures mean "the archive cannot answer now" (a 503, or a page without the history)
 * rather than a bug: no node reachable, a timeout, or a coordinator that could not reach its replicas. */
import { errors, types } from 'cassandra-driver';

const UNAVAILABLE_CODES = new Set<number>([
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.readTimeout,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
]);

export function archiveUnavailable(err: unknown): boolean {
  if (
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError
  )
    return true;
  return err instanceof errors.ResponseError && UNAVAILABLE_CODES.has(err.code);
}
