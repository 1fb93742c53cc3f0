import { ConfigError } from '../errors.js';
import { stripUndefined } from '../objects.js';
import { readClientTls, tlsFiles, urlFlag, type ClientTls } from './client-tls.js';
import { splitConnectionUrl, type ConnectionUrl, type HostPort } from './connection-url.js';
import type { ConnectionOverrides } from './mysql-connection-options.js';

/**
 * How the Redis of an installation is reached:
 * - `standalone`: one server (`redis://`, `rediss://`), also a proxy in front of several;
 * - `sentinel`: the master Redis Sentinel names, followed across failovers
 *   (`redis+sentinel://s1:26379,s2:26379/MASTER_NAME`);
 * - `cluster`: a Redis Cluster from its seed nodes (`redis+cluster://n1:6379,n2:6379`).
 */
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

/** Where and as whom to connect to Redis: a `redisUrl` and the connection options, compiled once. */
export interface RedisConnectionOptions {
  readonly mode: RedisMode;
  /** The server (standalone), the sentinels (sentinel) or the seed nodes (cluster), in the order written. */
  readonly hosts: readonly HostPort[];
  /** The master's name the sentinels know (`sentinel monitor NAME ...`); sentinel mode only. */
  readonly masterName?: string;
  /** The sentinels' own password (`requirepass` of the sentinels) when they have one; sentinel mode only. */
  readonly sentinelPassword?: string;
  /** An ACL user of the data nodes; undefined: the default user. */
  readonly username?: string;
  /** The data nodes' password (master, replicas, cluster nodes). */
  readonly password?: string;
  /** The logical database (`redis://host/2`), 0 by default; always 0 on a cluster. */
  readonly db: number;
  /** Set for rediss:// URLs only (rediss+sentinel: the sentinels and the data nodes). */
  readonly tls?: ClientTls;
}

/** The connection options that win over what a Redis URL says. */
export interface RedisConnectionOverrides extends ConnectionOverrides {
  sentinelPassword?: string;
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

/** Every scheme a `redisUrl` may have: the mode, and whether it is TLS. */
export const REDIS_SCHEMES: Readonly<Record<string, { mode: RedisMode; tls: boolean }>> = {
  redis: { mode: 'standalone', tls: false },
  rediss: { mode: 'standalone', tls: true },
  'redis+sentinel': { mode: 'sentinel', tls: false },
  'rediss+sentinel': { mode: 'sentinel', tls: true },
  'redis+cluster': { mode: 'cluster', tls: false },
  'rediss+cluster': { mode: 'cluster', tls: true },
};

const DEFAULT_PORT: Record<RedisMode, number> = { standalone: 6379, sentinel: 26379, cluster: 6379 };

/** The URL's hosts with their defaults; a host list only where the mode takes one. */
function hostsOf(parts: ConnectionUrl, mode: RedisMode, field: string): HostPort[] {
  if (mode === 'standalone' && parts.hosts.length > 1) {
    const list = parts.hosts.map((h) => h.host).join(', ');
    throw new ConfigError(field, `several hosts (${list}) need redis+sentinel:// (sentinels) or redis+cluster:// (cluster seed nodes)`);
  }
  return parts.hosts.map(({ host, port }) => {
    if (!host && mode !== 'standalone') throw new ConfigError(field, `a ${mode} URL needs every host written out (an empty one in ${parts.scheme}://)`);
    return { host: host || '127.0.0.1', port: port ?? DEFAULT_PORT[mode] };
  });
}

/** The path's meaning by mode: a database number, the sentinels' master name, nothing on a cluster. */
function pathOf(parts: ConnectionUrl, mode: RedisMode, field: string): { db: number; masterName?: string } {
  if (mode === 'sentinel') {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(parts.path)) {
      throw new ConfigError(field, `a redis+sentinel:// URL ends with the master's name (/mymaster), got /${parts.path}`);
    }
    return { db: 0, masterName: parts.path };
  }
  if (mode === 'cluster') {
    if (parts.path !== '' && parts.path !== '0') throw new ConfigError(field, `a Redis Cluster has only database 0: remove /${parts.path} from the URL`);
    return { db: 0 };
  }
  const db = parts.path === '' ? 0 : Number(parts.path);
  if (!Number.isInteger(db) || db < 0) throw new ConfigError(field, `the path of the URL must be a database number, got /${parts.path}`);
  return { db };
}

/**
 * The one parser of Redis connection settings: `url` (mode, user, password,
 * hosts, db or master name, TLS parameters), then `overrides` (the
 * connection options) on top; TLS files are read here. `field` is the URL's
 * option name in errors.
 */
export function compileRedisConnection(url: string, overrides: RedisConnectionOverrides = {}, field = 'redisUrl'): RedisConnectionOptions {
  const parts = splitConnectionUrl(url, field);
  const scheme = REDIS_SCHEMES[parts.scheme];
  if (!scheme) throw new ConfigError(field, `expected a ${Object.keys(REDIS_SCHEMES).join(':// or ')}:// URL, got ${parts.scheme}://`);
  const { mode } = scheme;
  const p = REDIS_TLS_PARAMS;
  const known: string[] = Object.values(p);
  const unknown = [...new Set(parts.params.keys())].filter((name) => !known.includes(name));
  if (unknown.length) throw new ConfigError(field, `unknown URL parameter(s) ${unknown.join(', ')} (known: ${known.join(', ')})`);
  if (overrides.sentinelPassword !== undefined && mode !== 'sentinel') {
    throw new ConfigError('redisSentinelPassword', `needs a redis+sentinel:// ${field}`);
  }
  const { db, masterName } = pathOf(parts, mode, field);
  const connection: RedisConnectionOptions = {
    mode,
    hosts: hostsOf(parts, mode, field),
    ...stripUndefined({ masterName, sentinelPassword: overrides.sentinelPassword, username: parts.username, password: overrides.password ?? parts.password }),
    db,
  };
  const overrideFields = Object.values(overrides.tls ?? {}).map((o: { field: string }) => o.field);
  if (!scheme.tls) {
    const given = known.filter((name) => parts.params.has(name));
    const tlsScheme = parts.scheme.replace(/^redis/, 'rediss');
    if (given.length) throw new ConfigError(field, `${given.join(', ')} need a ${tlsScheme}:// URL (TLS)`);
    if (overrideFields.length) throw new ConfigError(overrideFields[0], `needs a ${tlsScheme}:// ${field} (TLS)`);
    return connection;
  }
  const verify = overrides.tls?.verify?.value ?? urlFlag(parts.params, p.verify, field) ?? true;
  return { ...connection, tls: readClientTls(tlsFiles(parts.params, p, overrides.tls ?? {}, field), verify) };
}

/** `mode host:port,...[/master]`, for messages and `watched status`: never a password. */
export function describeRedisTarget(target: RedisConnectionOptions): string {
  const hosts = target.hosts.map((h) => `${h.host}:${h.port}`).join(',');
  if (target.mode === 'sentinel') return `sentinels ${hosts} master ${target.masterName}`;
  if (target.mode === 'cluster') return `cluster ${hosts}`;
  return target.db ? `${hosts}/${target.db}` : hosts;
}
