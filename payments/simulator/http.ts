/** The simulator's HTTP conventions: the provider's error format, body and header parsing. */
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { Fault, FAULT_HEADER, parseFaultHeader } from './faults';

/** A 4xx (or an injected 5xx) in the provider's error format. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success)
    throw new ApiError(
      400,
      'invalid_request',
      r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  return r.data;
}

export function idempotencyKey(req: Request, required: boolean): string | undefined {
  const key = req.header('idempotency-key');
  if (key === undefined || key === '') {
    if (required) throw new ApiError(400, 'idempotency_key_required', 'this request needs an Idempotency-Key header');
    return undefined;
  }
  if (key.length > 255)
    throw new ApiError(400, 'invalid_request', 'the Idempotency-Key header is longer than 255 characters');
  return key;
}

export function headerFault(req: Request): Fault | undefined {
  try {
    return parseFaultHeader(req.header(FAULT_HEADER));
  } catch (err) {
    throw new ApiError(400, 'invalid_fault', (err as Error).message);
  }
}

/** An async handler whose errors reach the error middleware. */
export const route =
  (fn: (req: Request, res: Response) => Promise<void> | void) => (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch(next);
  };

/** The provider's error format for everything that went wrong, 404 for unknown routes. */
export function notFound(req: Request, res: Response): void {
  res.status(404).json({ error: { code: 'not_found', message: `no route ${req.method} ${req.path}` } });
}

export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) return;
  if (err instanceof ApiError)
    return void res.status(err.status).json({ error: { code: err.code, message: err.message } });
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.parse.failed')
    return void res.status(400).json({ error: { code: 'invalid_json', message: 'the body is not valid JSON' } });
  if (e.type === 'entity.too.large')
    return void res.status(413).json({ error: { code: 'payload_too_large', message: 'the body is too large' } });
  res.status(500).json({ error: { code: 'internal_error', message: e.message ?? 'internal error' } });
}
