/** The access log's level per answer: what an operator must see (warn, error) against what comes in bulk. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accessLogLevel, quietAccessLog } from '../../api/access-log';

const answer = (method: string, statusCode: number, quiet = false) => {
  const res = { statusCode, locals: {} } as unknown as ServerResponse & { locals: Record<string, unknown> };
  if (quiet) quietAccessLog(res as never);
  return accessLogLevel({ method } as IncomingMessage, res);
};

test.each([
  ['a sold-out order refused by the early gate', 'POST', 409, true, 'debug'],
  ['any other 409 (a conflict someone may look into)', 'POST', 409, false, 'warn'],
  ['a 400', 'POST', 400, false, 'warn'],
  ['a 503 (a store down or load shed: logged once per interval elsewhere)', 'POST', 503, false, 'info'],
  ['a 500', 'GET', 500, false, 'error'],
  ['a successful read', 'GET', 200, false, 'debug'],
  ['a successful write', 'POST', 201, false, 'info'],
])('%s', (_what, method, status, quiet, level) => {
  expect(answer(method, status, quiet)).toBe(level);
});
