import pino from 'pino';

/** One structured JSON logger for every process; `LOG_LEVEL` sets its level. */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: process.env.SHOPFLOW_SERVICE ?? 'shopflow' },
  redact: ['req.headers.authorization', 'password', '*.password'],
});
export type Logger = typeof logger;
