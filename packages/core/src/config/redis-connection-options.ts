import { ConfigError } from '../errors.js';
import { stripUndefined } from '../objects.js';
import { readClientTls, tlsFiles, urlFlag, type ClientTls } from './client-tls.js';
import { singleHost, splitConnectionUrl, type HostPort } from './connection-url.js';
import type { ConnectionOverrides } from './mysql-connection-options.js';

/** Where and as whom to connect to Redis: a `redisUrl` and the connection options, compiled once. */
export interface RedisConnectionOptions {
  /**
   * Exactly one today (redis://, rediss://); a list so that
   * `redis+sentinel://` and `redis+cluster://` can come without changing the type.
   */
  readonly hosts: readonly HostPort[];
  /** An ACL user; undefined: the default user. */
  readonly username?: string;
  readonly password?: string;
  /** The logical database (`redis://host/2`), 0 by default. */
  readonly db: number;
  /** Set for rediss:// URLs only. */
  readonly tls?: ClientTls;
}

/**
 * TLS settings a `rediss://` URL may carry in its query (so a URL alone can
 * say everything): `tls-ca=FILE`, `tls-cert=FILE`, `tls-key=FILE` (client
 * certificate), `tls-verify=false` (encrypt without checking the server's
 * certificate and name). The `--redis-tls-*` options win over these. An ACL
 * user and password go in the URL (`rediss://user:password@host`) or in
 * `--redis-password`.
 */
export const REDIS_TLS_PARAMS = { ca: 'tls-ca', cert: 'tls-cert', key: 'tls-key', verify: 'tls-verify' } as const;

/**
 * The one parser of Redis connection settings: `url` (user, password, host,
 * port, db, TLS parameters), then `overrides` (the connection options) on
 * top; TLS files are read here. `field` is the URL's option name in errors.
 */
export function compileRedisConnection(url: string, overrides: ConnectionOverrides = {}, field = 'redisUrl'): RedisConnectionOptions {
  const parts = splitConnectionUrl(url, field);
  if (parts.scheme !== 'redis' && parts.scheme !== 'rediss') {
    throw new ConfigError(field, `expected a redis:// or rediss:// URL, got ${parts.scheme}://`);
  }
  const p = REDIS_TLS_PARAMS;
  const known: string[] = Object.values(p);
  const unknown = [...new Set(parts.params.keys())].filter((name) => !known.includes(name));
  if (unknown.length) throw new ConfigError(field, `unknown URL parameter(s) ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const db = parts.path === '' ? 0 : Number(parts.path);
  if (!Number.isInteger(db) || db < 0) throw new ConfigError(field, `the path of the URL must be a database number, got /${parts.path}`);
  const connection: RedisConnectionOptions = {
    hosts: singleHost(parts, field, { host: '127.0.0.1', port: 6379 }),
    ...stripUndefined({ username: parts.username, password: overrides.password ?? parts.password }),
    db,
  };
  const overrideFields = Object.values(overrides.tls ?? {}).map((o: { field: string }) => o.field);
  if (parts.scheme !== 'rediss') {
    const given = known.filter((name) => parts.params.has(name));
    if (given.length) throw new ConfigError(field, `${given.join(', ')} need a rediss:// URL (TLS)`);
    if (overrideFields.length) throw new ConfigError(overrideFields[0], `needs a rediss:// ${field} (TLS)`);
    return connection;
  }
  const verify = overrides.tls?.verify?.value ?? urlFlag(parts.params, p.verify, field) ?? true;
  return { ...connection, tls: readClientTls(tlsFiles(parts.params, p, overrides.tls ?? {}, field), verify) };
}
