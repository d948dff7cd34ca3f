/**
 * Analytics events off the request's path (issue 12, analytics/outbox-buffer.ts), in a real API process
 * (dist/api/server.js): item views answer before their events are written; a graceful stop writes every
 * buffered event to the outbox; a kill -9 loses at most ANALYTICS_BUFFER_MAX of them.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { makeItem } from '../support/fixtures';
import { call } from '../support/http';

const SERVER = path.resolve(__dirname, '../../dist/api/server.js');
let mysql: Knex;
beforeAll(() => {
  mysql = createMysql(loadConfig().MYSQL_URL, 2);
});
afterAll(async () => {
  await mysql?.destroy();
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function startApi(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => d.toString().includes('shopflow API listening') && resolve();
    child.stdout!.on('data', onData);
    child.stderr!.on('data', () => undefined);
    child.once('exit', (code) => reject(new Error(`API exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}
const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
const viewsOf = async (itemId: string) =>
  Number(
    (await mysql('outbox')
      .where({ topic: 'shopflow.analytics' })
      .andWhere('payload', 'like', `%"item_view"%${itemId}%`)
      .count({ n: '*' })
      .first())!.n,
  );

test('item views answer before their events are written; a graceful stop (SIGTERM) writes every one', async () => {
  const item = await makeItem(mysql, { stock: 3 });
  // A flush interval of an hour: nothing is written until the stop.
  const { child, url } = await startApi({
    ANALYTICS_FLUSH_INTERVAL: '1h',
    ANALYTICS_FLUSH_MAX: '5000',
    ANALYTICS_BUFFER_MAX: '10000',
  });
  for (let i = 0; i < 30; i++) expect((await call(url, 'GET', `/items/${item}`)).status).toBe(200);
  expect(await viewsOf(item)).toBe(0);
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);
  expect(await viewsOf(item)).toBe(30);
}, 60_000);

test('a kill -9 loses at most ANALYTICS_BUFFER_MAX events of the process (past it, views wait for their commit)', async () => {
  const item = await makeItem(mysql, { stock: 3 });
  const bound = 25;
  const { child, url } = await startApi({
    ANALYTICS_FLUSH_INTERVAL: '1h',
    ANALYTICS_FLUSH_MAX: '5000',
    ANALYTICS_BUFFER_MAX: String(bound),
  });
  const views = 110;
  for (let i = 0; i < views; i += 5) {
    const batch = await Promise.all(Array.from({ length: 5 }, () => call(url, 'GET', `/items/${item}`)));
    for (const r of batch) expect(r.status).toBe(200);
  }
  child.kill('SIGKILL');
  await exited(child);
  const written = await viewsOf(item);
  expect(written).toBeLessThanOrEqual(views);
  expect(views - written).toBeLessThanOrEqual(bound);
  expect(written).toBeGreaterThan(0); // the buffer filled and flushed while the views went on
}, 60_000);
