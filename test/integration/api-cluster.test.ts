/**
 * The API as several processes behind one port (issue 12, api/cluster.ts, what `npm start` runs): the processes
 * share one budget per client (the rate limits live in Redis, not in a process), and a SIGTERM stops them all.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';

const CLUSTER = path.resolve(__dirname, '../../dist/api/cluster.js');
let child: ChildProcess;
let url: string;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [CLUSTER], {
    env: {
      ...process.env,
      PORT: String(port),
      API_PROCESSES: '2',
      // Round robin here (the default lets the kernel pick, which may give one process every connection): each
      // login then lands on the other process, so a budget kept per process would let all eight through.
      API_CLUSTER_SCHEDULING: 'rr',
      RATE_LIMIT_LOGIN: '4',
      RATE_LIMIT_REDIS_PREFIX: `ratelimit:cluster-${randomUUID()}:`,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let listening = 0;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      listening += d.toString().split('shopflow API listening').length - 1;
      if (listening >= 2) resolve();
    });
    child.stderr!.on('data', () => undefined);
    child.once('exit', (code) => reject(new Error(`cluster exited with ${code}`)));
  });
}, 60_000);
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

/** One request on a connection of its own, so the primary hands each to the next process. */
const login = () =>
  new Promise<number>((resolve, reject) => {
    const body = JSON.stringify({ email: `nobody-${randomUUID()}@test.shopflow.dev`, password: 'not the password' });
    const req = http.request(
      `${url}/auth/login`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.on('error', reject);
    req.end(body);
  });

test('two API processes answer on one port and share one login budget per client', async () => {
  const workers = execFileSync('ps', ['--ppid', String(child.pid), '-o', 'pid='])
    .toString()
    .trim()
    .split(/\s+/);
  expect(workers).toHaveLength(2);
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) statuses.push(await login());
  expect(statuses.filter((s) => s === 429)).toHaveLength(4);
  expect(statuses.slice(0, 4).every((s) => s !== 429)).toBe(true);
}, 30_000);

test('SIGTERM stops every process and the primary exits 0', async () => {
  const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  child.kill('SIGTERM');
  expect(await code).toBe(0);
}, 30_000);
