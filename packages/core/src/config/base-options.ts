import { z } from 'zod';
import { connectionOptionsShape } from './connection-options.js';
import { connectionUrl } from './option-types.js';
import { REDIS_SCHEMES } from './redis-connection-options.js';

/**
 * The built-in MySQL and Redis targets. WATCHED_DEFAULT_MYSQL_URL and
 * WATCHED_DEFAULT_REDIS_URL replace them (tests point them at closed ports):
 * unlike WATCHED_MYSQL_URL they stay defaults, not a server the user chose,
 * so `watched up` may still start private servers when they do not answer.
 */
export const DEFAULT_MYSQL_URL = process.env.WATCHED_DEFAULT_MYSQL_URL || 'mysql://root@127.0.0.1:3306/watched';
export const DEFAULT_REDIS_URL = process.env.WATCHED_DEFAULT_REDIS_URL || 'redis://127.0.0.1:6379';

/** Options every role shares: where MySQL and Redis are, the key namespace, logging. */
export const baseOptionsShape = {
  /** MySQL/MariaDB connection URL; the database is created by `watched migrate` if missing. */
  mysqlUrl: connectionUrl(DEFAULT_MYSQL_URL, ['mysql']).describe('MySQL/MariaDB URL, mysql://user:password@host:port/database'),
  redisUrl: connectionUrl(DEFAULT_REDIS_URL, Object.keys(REDIS_SCHEMES), ['redis+sentinel', 'rediss+sentinel', 'redis+cluster', 'rediss+cluster']).describe(
    'Redis URL: redis://, rediss://, redis+sentinel://H:P,H:P/MASTER or redis+cluster://H:P,H:P',
  ),
  /** Passwords (or their files) and TLS of both connections; see connection-options.ts. */
  ...connectionOptionsShape,
  /** Namespace of every Redis key and BullMQ queue, so installations can share a Redis. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1-64)')
    .default('watched').describe('namespace of every Redis key and BullMQ queue'),
  logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('error, warn, info or debug'),
  /** `pretty` for a terminal, `json` for log collectors; default by whether stdout is a TTY. */
  logFormat: z.enum(['json', 'pretty']).optional().describe('json or pretty (default: pretty on a terminal, json otherwise)'),
  logFile: z.string().min(1).optional().describe('append logs to this file instead of stdout (reopened on SIGHUP, for logrotate)'),
  /** Folder of the numbered SQL migrations; default: the repository's migrations/. */
  migrationsDir: z.string().optional().describe('folder of the numbered SQL migrations'),
};

export const BaseOptionsSchema = z.object(baseOptionsShape);
export type BaseOptions = z.output<typeof BaseOptionsSchema>;
