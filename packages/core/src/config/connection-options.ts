import { z } from 'zod';
import { MYSQL_TLS_PARAMS } from '../mysql.js';
import { REDIS_TLS_PARAMS } from '../redis.js';
import { filePath, secretOption } from './option-types.js';

/** true/false/1/0/yes/no, absent when not given (so the URL's own parameter stays in force). */
const optionalFlag = (description: string) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === true || v === 'true' || v === '1' || v === 'yes'))
    .describe(description);

/**
 * Credentials and TLS of the MySQL and Redis connections, as options. They
 * are written into the two URLs by foldConnectionOptions, so the URL stays
 * the one thing passed around (roles, the migrator, BullMQ, child processes)
 * and a URL alone can carry everything too.
 */
export const connectionOptionsShape = {
  ...secretOption('mysqlPassword', z.string().min(1).optional().describe("MySQL password (overrides the URL's)")),
  mysqlSslCa: filePath('CA bundle (PEM) to verify the MySQL server with; turns TLS on'),
  mysqlSslCert: filePath('client certificate (PEM) presented to MySQL'),
  mysqlSslKey: filePath('key (PEM) of the MySQL client certificate'),
  mysqlSslVerify: optionalFlag("check the MySQL server's certificate and name (default true; false only encrypts)"),
  ...secretOption('redisPassword', z.string().min(1).optional().describe("Redis password, ACL user's or requirepass (overrides the URL's)")),
  redisTlsCa: filePath('CA bundle (PEM) to verify the Redis server with (rediss:// URLs)'),
  redisTlsCert: filePath('client certificate (PEM) presented to Redis'),
  redisTlsKey: filePath('key (PEM) of the Redis client certificate'),
  redisTlsVerify: optionalFlag("check the Redis server's certificate and name (default true)"),
};

type Settings = { password?: unknown; params: Record<string, unknown> };

function withSettings(url: string, settings: Settings): string {
  // Untouched when no option is given: the URL stays exactly as the user wrote it.
  if (settings.password === undefined && Object.values(settings.params).every((v) => v === undefined)) return url;
  const u = new URL(url);
  if (typeof settings.password === 'string') u.password = encodeURIComponent(settings.password);
  for (const [name, value] of Object.entries(settings.params)) {
    if (value !== undefined) u.searchParams.set(name, String(value));
  }
  return u.toString();
}

/**
 * Writes the connection options given (passwords, TLS files, verification)
 * into `mysqlUrl` and `redisUrl`; options absent leave the URL as it was.
 * A no-op for option sets without those URLs.
 */
export function foldConnectionOptions<T>(options: T): T {
  const o = options as Record<string, unknown>;
  if (typeof o.mysqlUrl === 'string') {
    const p = MYSQL_TLS_PARAMS;
    o.mysqlUrl = withSettings(o.mysqlUrl, {
      password: o.mysqlPassword,
      params: { [p.ca]: o.mysqlSslCa, [p.cert]: o.mysqlSslCert, [p.key]: o.mysqlSslKey, [p.verify]: o.mysqlSslVerify },
    });
  }
  if (typeof o.redisUrl === 'string') {
    const p = REDIS_TLS_PARAMS;
    o.redisUrl = withSettings(o.redisUrl, {
      password: o.redisPassword,
      params: { [p.ca]: o.redisTlsCa, [p.cert]: o.redisTlsCert, [p.key]: o.redisTlsKey, [p.verify]: o.redisTlsVerify },
    });
  }
  return options;
}
