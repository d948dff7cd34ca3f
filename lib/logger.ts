import pino from 'pino';

/** The logger's options: level, service name, and the fields never written (secrets, and the SQL that mysql2
 * attaches to its errors with the bound values inlined: password hashes, emails). */
export const LOG_OPTIONS: pino.LoggerOptions = {
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: process.env.SHOPFLOW_SERVICE ?? 'shopflow' },
  redact: [
    'req.headers.authorization',
    'password',
    '*.password',
    'password_hash',
    '*.password_hash',
    '*.current_password',
    '*.new_password',
    'err.sql',
    '*.err.sql',
    'err.bindings',
  ],
};

/** One structured JSON logger for every process; `LOG_LEVEL` sets its level. */
export const logger = pino(LOG_OPTIONS);
export type Logger = typeof logger;
