/** The configuration fails closed: outside SHOPFLOW_DEV_MODE the public dev-only secrets, short secrets and the
 * simulated gateway stop the process at start, whatever NODE_ENV says (issue 13, review C1 and H3). */
import { loadConfig } from '../../lib/config';

const strong = { JWT_SECRET: 'x'.repeat(40), PAYMENT_WEBHOOK_SECRET: 'y'.repeat(40) };

test.each([
  ['no NODE_ENV', {}],
  ['NODE_ENV=development (what compose used to set)', { NODE_ENV: 'development' }],
  ['NODE_ENV=production', { NODE_ENV: 'production' }],
  ['SHOPFLOW_DEV_MODE=0', { SHOPFLOW_DEV_MODE: '0' }],
])('the dev-only defaults are refused with %s', (_name, env) => {
  expect(() => loadConfig(env)).toThrow(/JWT_SECRET is the public dev-only default/);
  expect(() => loadConfig({ ...env, JWT_SECRET: strong.JWT_SECRET })).toThrow(
    /PAYMENT_WEBHOOK_SECRET is the public dev-only default/,
  );
});

test('a secret shorter than 32 characters is refused outside dev mode', () => {
  expect(() => loadConfig({ ...strong, JWT_SECRET: 'sixteen-chars-ok-not' })).toThrow(/JWT_SECRET must be at least 32/);
});

test('the simulated gateway is refused outside dev mode, even with real secrets', () => {
  expect(() => loadConfig(strong)).toThrow(/PAYMENT_GATEWAY=simulator .* only with SHOPFLOW_DEV_MODE=1/);
});

test('the notification webhook secret is checked only when that channel is used', () => {
  expect(() =>
    loadConfig({ ...strong, NOTIFY_CHANNEL: 'webhook', NOTIFY_WEBHOOK_URL: 'https://example.com/hook' }),
  ).toThrow(/NOTIFY_WEBHOOK_SECRET/);
});

test('dev mode (npm start, npm test) accepts the defaults and the simulator', () => {
  for (const v of ['1', 'true']) {
    const cfg = loadConfig({ SHOPFLOW_DEV_MODE: v });
    expect(cfg.SHOPFLOW_DEV_MODE).toBe(true);
    expect(cfg.PAYMENT_GATEWAY).toBe('simulator');
  }
});
