/**
 * A route's contract in one place: its zod schemas validate the request (unknown fields rejected, types
 * strict, so `{"$gt": ""}` never passes for a string) and register the route in the OpenAPI document.
 */
import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, RequestHandler } from 'express';
import type { ZodType, z } from 'zod';
import { requirePrincipal, requireRole, requireSelfOrAdmin } from './auth';
import type { Role } from '../users/repository';
import { badRequest } from './errors';
import { ErrorSchema } from './openapi';

type Method = 'get' | 'post' | 'put' | 'delete' | 'patch';

export interface RouteSpec<
  B extends ZodType | undefined,
  P extends ZodType | undefined,
  Q extends ZodType | undefined,
> {
  method: Method;
  /** Express path (`/orders/:id`); the document gets `/orders/{id}`. */
  path: string;
  summary: string;
  tags: string[];
  auth?: boolean;
  /** The roles that may call (403 for others), checked right after the token and before any input is read,
   * so a caller without the role never costs a validation of a large body. Implies `auth`. */
  roles?: Role[];
  /** The path parameter naming the user the route belongs to: only that user or an admin (403), checked
   * once the path is validated, before the query and the body. Implies `auth`. */
  selfParam?: string;
  body?: B;
  params?: P;
  query?: Q;
  headers?: ZodType;
  responses: Record<number, { description: string; schema?: ZodType }>;
}

type Out<T> = T extends ZodType ? z.infer<T> : undefined;
export interface Validated<B, P, Q> {
  body: B;
  params: P;
  query: Q;
}

const errorStatuses: Record<number, string> = {
  400: 'Invalid input',
  401: 'No valid token',
  403: 'Not allowed',
  404: 'Not found',
  429: 'Too many requests',
};

export function registerRoute(
  registry: OpenAPIRegistry,
  spec: RouteSpec<ZodType | undefined, ZodType | undefined, ZodType | undefined>,
): void {
  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = r.schema
      ? { description: r.description, content: { 'application/json': { schema: r.schema } } }
      : { description: r.description };
  }
  const implied = [400, ...(needsToken(spec) ? [401, 403] : [])];
  for (const s of implied) {
    if (!responses[s])
      responses[s] = { description: errorStatuses[s]!, content: { 'application/json': { schema: ErrorSchema } } };
  }
  registry.registerPath({
    method: spec.method,
    path: spec.path.replace(/:([A-Za-z_]+)/g, '{$1}'),
    summary: spec.summary,
    tags: spec.tags,
    ...(needsToken(spec) ? { security: [{ bearerAuth: [] }] } : {}),
    request: {
      ...(spec.body
        ? {
            body: {
              content: { 'application/json': { schema: spec.body } },
              required: !spec.body.safeParse(undefined).success,
            },
          }
        : {}),
      ...(spec.params ? { params: spec.params as never } : {}),
      ...(spec.query ? { query: spec.query as never } : {}),
      ...(spec.headers ? { headers: spec.headers as never } : {}),
    },
    responses,
  });
}

const needsToken = (spec: { auth?: boolean; roles?: Role[]; selfParam?: string }) =>
  Boolean(spec.auth || spec.roles || spec.selfParam);

function check<T extends ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw badRequest(
      `invalid ${where}`,
      r.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message })),
    );
  }
  return r.data;
}

/** Registers the route in the document and returns its handler, which gets the validated input. */
export function route<B extends ZodType | undefined, P extends ZodType | undefined, Q extends ZodType | undefined>(
  registry: OpenAPIRegistry,
  spec: RouteSpec<B, P, Q>,
  handler: (
    req: Request,
    input: Validated<Out<B>, Out<P>, Out<Q>>,
    res: Parameters<RequestHandler>[1],
  ) => Promise<unknown>,
): RequestHandler {
  registerRoute(registry, spec);
  return async (req, res, next) => {
    try {
      // A route that needs a token says so (401), and a caller without the role or not the owner is refused
      // (403), before it looks at the input (400).
      if (needsToken(spec)) requirePrincipal(req);
      if (spec.roles) requireRole(req, ...spec.roles);
      // The small parts first: the path (then whose it is), the query, then the body.
      const params = (spec.params ? check(spec.params, req.params, 'params') : undefined) as Out<P>;
      if (spec.selfParam) requireSelfOrAdmin(req, String(req.params[spec.selfParam] ?? ''));
      const query = (spec.query ? check(spec.query, req.query, 'query') : undefined) as Out<Q>;
      const body = (spec.body ? check(spec.body, req.body, 'body') : undefined) as Out<B>;
      const input = { body, params, query };
      await handler(req, input, res);
    } catch (err) {
      next(err);
    }
  };
}
