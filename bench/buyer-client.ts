/**
 * The flash-sale bench's buyers: one POST each on its own connection, through node:http. The burst measures the
 * API, so the client must not be the bottleneck: on this 2-core box 2,000 concurrent `fetch` calls (undici) to a
 * server that answers at once take 1.5 s p50 by themselves, node:http 0.7 s.
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

export interface BuyerAnswer {
  status: number;
  body: unknown;
}

export function postJson(baseUrl: string, path: string, token: string, body: unknown): Promise<BuyerAnswer> {
  const url = new URL(path, baseUrl);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
