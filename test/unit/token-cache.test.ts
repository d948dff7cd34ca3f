/**
 * TokenService remembers tokens it verified: a remembered token is still refused once it expires, a token that
 * differs from a remembered one by a character is checked (and refused) on its own, and the memory is bounded.
 */
import { TokenService } from '../../api/auth';

const SECRET = 'unit-test-secret-0123456789';

afterEach(() => jest.useRealTimers());

test('a remembered token stops being accepted when it expires', () => {
  jest.useFakeTimers({ now: new Date('2026-12-07T12:00:00Z') });
  const tokens = new TokenService(SECRET, 60);
  const token = tokens.issue({ userId: 'u-1', role: 'customer', tokenVersion: 3 });
  expect(tokens.verify(token)).toEqual({ userId: 'u-1', role: 'customer', tokenVersion: 3 });
  jest.setSystemTime(new Date('2026-12-07T12:00:59Z'));
  expect(tokens.verify(token)?.userId).toBe('u-1'); // from memory, still valid
  jest.setSystemTime(new Date('2026-12-07T12:01:00Z'));
  expect(tokens.verify(token)).toBeUndefined();
});

test('a forged or altered token is refused even while the genuine one is remembered', () => {
  const tokens = new TokenService(SECRET, 60);
  const token = tokens.issue({ userId: 'u-1', role: 'customer' });
  expect(tokens.verify(token)).toBeDefined();
  const [head, payload, signature] = token.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ role: 'admin', ver: 0, sub: 'u-1', exp: 9e9 })).toString(
    'base64url',
  );
  const flipped = signature!.slice(0, -2) + (signature!.at(-2) === 'A' ? 'B' : 'A') + signature!.at(-1);
  expect(tokens.verify(`${head}.${forgedPayload}.${signature}`)).toBeUndefined();
  expect(tokens.verify(`${head}.${payload}.${flipped}`)).toBeUndefined();
  expect(new TokenService('another-secret-0123456789', 60).verify(token)).toBeUndefined();
});

test('what verify returns cannot be changed by a caller (it is shared by the next requests)', () => {
  const tokens = new TokenService(SECRET, 60);
  const token = tokens.issue({ userId: 'u-1', role: 'customer' });
  const p = tokens.verify(token)!;
  expect(() => Object.assign(p, { role: 'admin' })).toThrow(TypeError);
  expect(tokens.verify(token)?.role).toBe('customer');
});

test('at most cacheMax tokens are remembered, and 0 remembers none', () => {
  const tokens = new TokenService(SECRET, 60, 2);
  const issued = ['u-1', 'u-2', 'u-3'].map((userId) => tokens.issue({ userId, role: 'customer' }));
  for (const t of issued) expect(tokens.verify(t)).toBeDefined();
  const remembered = (s: TokenService) => (s as unknown as { verified: Map<string, unknown> }).verified;
  expect([...remembered(tokens).keys()]).toEqual([issued[1], issued[2]]); // the oldest went first
  const none = new TokenService(SECRET, 60, 0);
  expect(none.verify(issued[0]!)).toBeDefined();
  expect(remembered(none).size).toBe(0);
});
