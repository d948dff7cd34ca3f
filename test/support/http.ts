/** A small fetch wrapper for calling the API as a client would. */
export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** The address tests' orders ship to when they give none: POST /orders and cart checkout need one (issue 16). A
 * test that means to send no address says so with an explicit `shipping_address: undefined`. */
/** A seller's shipment details for POST /orders/{id}/ship. */
export const TEST_SHIPMENT = { carrier: 'UPS', tracking_number: '1Z999AA10123456784' };
export const TEST_ADDRESS = {
  name: 'Test Buyer',
  line1: '1 Test Street',
  city: 'Testville',
  postal_code: '10001',
  country: 'US',
};
function withDefaultAddress(method: string, path: string, body: unknown): unknown {
  if (method !== 'POST' || !(path === '/orders' || /^\/users\/[^/]+\/cart\/checkout$/.test(path))) return body;
  if (body === undefined) return { shipping_address: TEST_ADDRESS };
  if (
    body === null ||
    typeof body !== 'object' ||
    Array.isArray(body) ||
    'shipping_address' in body ||
    'address_id' in body
  )
    return body;
  return { ...body, shipping_address: TEST_ADDRESS };
}

export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  opts = { ...opts, body: opts.rawBody === undefined ? withDefaultAddress(method, path, opts.body) : opts.body };
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined || opts.rawBody !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
