/** Bound values stay out of error messages and logs (issue 13 item 6, review L4): a failing insert of a user
 * does not carry the password hash or the email into the log line the error handler writes for it. */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { LOG_OPTIONS } from '../../lib/logger';
import { loadConfig } from '../../lib/config';
import { createMysql } from '../../stores/mysql/client';
import { createUser } from '../../users/repository';

test('a database error names the statement, not its bound values', async () => {
  const mysql = createMysql(loadConfig(process.env).MYSQL_URL, 2);
  try {
    const marker = `leak-${randomUUID()}`;
    // A name longer than the column: MySQL refuses the insert (strict mode).
    const err = await createUser(mysql, {
      name: 'n'.repeat(300),
      email: `${marker}@test.shopflow.dev`,
      password: 'correct horse battery',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    // What the error handler writes for it (api/errors.ts: logger.error({ err, ... })).
    let text = '';
    const sink = new Writable({ write: (chunk, _enc, done) => void ((text += String(chunk)), done()) });
    pino({ ...LOG_OPTIONS, level: 'error' }, sink).error({ err, path: '/auth/register' }, 'unhandled error');
    expect(text).toMatch(/insert into `users`/);
    expect(text).not.toContain(marker);
    expect(text).not.toContain('$argon2id');
  } finally {
    await mysql.destroy();
  }
});
