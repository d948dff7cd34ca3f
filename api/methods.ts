/**
 * OPTIONS and 405 from the routes the OpenAPI registry knows: `OPTIONS` on a known path answers 204 with an
 * `Allow` header (instead of express's text/plain body), and a known path with a method it does not have
 * answers 405 with `Allow`, in the error format.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { RequestHandler } from 'express';
import { errorBody } from './errors';

type Matcher = { re: RegExp; params: number; methods: Set<string> }[];

function buildMatcher(registry: OpenAPIRegistry): Matcher {
  const byPath = new Map<string, Set<string>>();
  for (const d of registry.definitions) {
    if (d.type !== 'route') continue;
    const methods = byPath.get(d.route.path) ?? new Set<string>();
    methods.add(d.route.method.toUpperCase());
    byPath.set(d.route.path, methods);
  }
  return [...byPath].map(([path, methods]) => {
    const pattern = path
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    return { re: new RegExp(`^${pattern}/?$`), params: (path.match(/\{/g) ?? []).length, methods };
  });
}

/** The methods of the most specific documented path that matches (`/users/{id}/cart/checkout` rather than
 * `/users/{id}/cart/{item_id}`). */
function allowed(matcher: Matcher, path: string): string[] | undefined {
  const hits = matcher.filter((m) => m.re.test(path));
  if (hits.length === 0) return undefined;
  const fewest = Math.min(...hits.map((m) => m.params));
  const methods = new Set<string>();
  for (const m of hits) if (m.params === fewest) m.methods.forEach((x) => methods.add(x));
  return [...methods].sort();
}

/** Before the routers: answers OPTIONS for the documented paths. */
export function optionsHandler(registry: OpenAPIRegistry): RequestHandler {
  let matcher: Matcher | undefined;
  return (req, res, next) => {
    if (req.method !== 'OPTIONS') return next();
    const allow = allowed((matcher ??= buildMatcher(registry)), req.path);
    if (!allow) return next();
    res.setHeader('Allow', allow.join(', '));
    res.status(204).end();
  };
}

/** After the routers: a documented path asked with another method is 405, not 404. */
export function methodNotAllowed(registry: OpenAPIRegistry): RequestHandler {
  let matcher: Matcher | undefined;
  return (req, res, next) => {
    const allow = allowed((matcher ??= buildMatcher(registry)), req.path);
    if (!allow || allow.includes(req.method)) return next();
    res.setHeader('Allow', allow.join(', '));
    res
      .status(405)
      .json(
        errorBody(
          'method_not_allowed',
          `${req.method} is not allowed here; use ${allow.filter((m) => m !== 'OPTIONS' && m !== 'HEAD').join(' or ')}`,
        ),
      );
  };
}
