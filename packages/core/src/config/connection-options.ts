import { z } from 'zod';
import { stripUndefined } from '../objects.js';
import type { TlsOverrides } from './client-tls.js';
import { compileMysqlConnection, type MysqlConnectionOptions } from './mysql-connection-options.js';
import { filePath, optionalBoolean, secretOption } from './option-types.js';
import { compileRedisConnection, type RedisConnectionOptions } from './redis-connection-options.js';

/**
 * Credentials and TLS of the MySQL and Redis connections, as options. They
 * win over what `mysqlUrl` / `redisUrl` say; compileConnectionOptions joins
 * both into one structured form (nothing is written back into the URLs).
 * The verification flags have no default so the URL's own parameter stays in force.
 */
export const connectionOptionsShape = {
  ...secretOption('mysqlPassword', z.string().min(1).optional().describe("MySQL password (overrides the URL's)")),
  mysqlSslCa: filePath('CA bundle (PEM) to verify the MySQL server with; turns TLS on'),
  mysqlSslCert: filePath('client certificate (PEM) presented to MySQL'),
  mysqlSslKey: filePath('key (PEM) of the MySQL client certificate'),
  mysqlSslVerify: optionalBoolean().describe("check the MySQL server's certificate and name (default true; false only encrypts)"),
  ...secretOption('redisPassword', z.string().min(1).optional().describe("Redis password, ACL user's or requirepass (overrides the URL's)")),
  redisTlsCa: filePath('CA bundle (PEM) to verify the Redis server with (rediss:// URLs)'),
  redisTlsCert: filePath('client certificate (PEM) presented to Redis'),
  redisTlsKey: filePath('key (PEM) of the Redis client certificate'),
  redisTlsVerify: optionalBoolean().describe("check the Redis server's certificate and name (default true)"),
  ...secretOption('redisSentinelPassword', z.string().min(1).optional().describe('password of the sentinels themselves (redis+sentinel:// URLs), when they have their own')),
};

/** What every role connects to: the one form roles, the admin server and one-shot commands open connections from. */
export interface RoleConnections {
  readonly mysql: MysqlConnectionOptions;
  readonly redis: RedisConnectionOptions;
  /** Namespace of every Redis key and BullMQ queue. */
  readonly prefix: string;
}

/** The loaded options compileConnectionOptions reads (the base options, or any set containing them). */
export type ConnectionSourceOptions = {
  mysqlUrl: string;
  redisUrl: string;
  prefix: string;
} & Partial<Record<keyof typeof connectionOptionsShape, string | boolean | undefined>>;

function tlsOverrides(o: ConnectionSourceOptions, keys: { ca: string; cert: string; key: string; verify: string }): TlsOverrides {
  const values = o as Record<string, unknown>;
  const file = (key: string) => (typeof values[key] === 'string' ? { path: values[key] as string, field: key } : undefined);
  const verify = typeof values[keys.verify] === 'boolean' ? { value: values[keys.verify] as boolean, field: keys.verify } : undefined;
  return stripUndefined({ ca: file(keys.ca), cert: file(keys.cert), key: file(keys.key), verify });
}

/**
 * Compiles the connection options, once per process: each URL parsed, the
 * password and TLS options laid over it, TLS files read. Errors are
 * ConfigErrors naming the option (`mysqlSslCa`, `redisUrl`, ...).
 */
export function compileConnectionOptions(options: ConnectionSourceOptions): RoleConnections {
  return {
    mysql: compileMysqlConnection(options.mysqlUrl, {
      password: typeof options.mysqlPassword === 'string' ? options.mysqlPassword : undefined,
      tls: tlsOverrides(options, { ca: 'mysqlSslCa', cert: 'mysqlSslCert', key: 'mysqlSslKey', verify: 'mysqlSslVerify' }),
    }),
    redis: compileRedisConnection(options.redisUrl, {
      password: typeof options.redisPassword === 'string' ? options.redisPassword : undefined,
      sentinelPassword: typeof options.redisSentinelPassword === 'string' ? options.redisSentinelPassword : undefined,
      tls: tlsOverrides(options, { ca: 'redisTlsCa', cert: 'redisTlsCert', key: 'redisTlsKey', verify: 'redisTlsVerify' }),
    }),
    prefix: options.prefix,
  };
}
