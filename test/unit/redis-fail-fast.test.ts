/**
 * The order worker's Redis client (createFailFastRedis) on a Redis that is down and on one that hangs: the
 * saga's best-effort Redis activity (the order mirror) must end at once, so it never holds an activity slot
 * that claiming, charging or compensating orders is waiting for. Faking the server is the point here: a port
 * nobody listens on, and a server that answers the client's ready check and then nothing. (The chaos suite
 * kills the real Redis under a stream of orders: `npm run chaos`, round `redis`.)
 */
import net from 'node:net';
import { createFailFastRedis, createRedis, type Redis } from '../../stores/redis/client';
import { createOrderRecordActivities } from '../../activities/order-record-activities';
import type { OrderActivityContext } from '../../activities/deps';
import type { OrderView } from '../../orders/model';
import { deadPort } from '../support/dead-port';

const order = {
  order_id: 'o-fail-fast',
  user_id: 'u-1',
  status: 'created',
  expires_at: new Date(Date.now() + 60_000).toISOString(),
} as OrderView;

const mirrorWith = (redis: Redis) =>
  createOrderRecordActivities({ redis } as unknown as OrderActivityContext).mirrorOrder(order);

/** A server that completes ioredis's handshake (HELLO 3, CLIENT SETINFO) and ready check (INFO) as a ready
 * Redis would, then never answers anything else. */
async function hungServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const info = 'redis_version:7.0.15\r\nloading:0\r\n';
  const replies: Record<string, string> = {
    hello: '%1\r\n+proto\r\n:3\r\n',
    client: '+OK\r\n',
    info: `$${Buffer.byteLength(info)}\r\n${info}\r\n`,
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      // Each command is an array whose first bulk string is its name.
      for (const [, name] of chunk.toString().matchAll(/\*\d+\r\n\$\d+\r\n([a-zA-Z]+)/g)) {
        const reply = replies[name!.toLowerCase()];
        if (reply) socket.write(reply);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const waitFor = async (redis: Redis, status: string) => {
  while (redis.status !== status) await new Promise((r) => setTimeout(r, 10));
};

let clients: Redis[] = [];
afterEach(() => {
  for (const c of clients) c.disconnect();
  clients = [];
});

test('while Redis is down, the mirror activity fails at once: its command is refused, never queued', async () => {
  const redis = createFailFastRedis(`redis://127.0.0.1:${await deadPort()}`, 1000);
  clients.push(redis);
  await waitFor(redis, 'reconnecting');
  await expect(mirrorWith(redis)).rejects.toThrow(/enableOfflineQueue/);
  // The client the worker used before queued the same command until its reconnect tries ran out.
  const queueing = createRedis(`redis://127.0.0.1:${await deadPort()}`);
  queueing.on('error', () => undefined);
  clients.push(queueing);
  await waitFor(queueing, 'reconnecting');
  await expect(mirrorWith(queueing)).rejects.toThrow(/max retries per request/i);
});

test('when Redis accepts the command and never answers, the mirror activity fails after the command timeout', async () => {
  const server = await hungServer();
  try {
    const redis = createFailFastRedis(`redis://127.0.0.1:${server.port}`, 200);
    clients.push(redis);
    await waitFor(redis, 'ready');
    await expect(mirrorWith(redis)).rejects.toThrow(/timed out/i);
  } finally {
    await server.close();
  }
});
