import { ConfigError } from '../errors.js';
import { readClientTls, tlsFiles, urlFlag, type ClientTls, type TlsOverrides } from './client-tls.js';
import { parseDurationMs } from './option-types.js';
import { everyHost, splitConnectionUrl, type HostPort } from './connection-url.js';

/** Where and as whom to connect to MySQL/MariaDB: a `mysqlUrl` and the connection options, compiled once. */
export interface MysqlConnectionOptions {
  /** In the order given: the first that answers and is writable is the writer (see mysql-writer.ts). */
  readonly hosts: readonly HostPort[];
  readonly user: string;
  readonly password: string;
  /** Absent for a server URL (`mysql://root@db:3306`), as `migrate` uses to create the database. */
  readonly database?: string;
  /** Undefined: a plain connection. */
  readonly tls?: ClientTls;
  /**
   * With several hosts: how long an earlier host must stay writable before
   * the writer moves back to it (URL `failback=30s`, the default); null
   * (`failback=never`): only when the current writer fails.
   */
  readonly failbackAfterMs?: number | null;
}

/** `failback=30s` / `failback=never` in a multi-host URL's query. */
export const MYSQL_FAILBACK_PARAM = 'failback';

function failbackAfterMs(params: URLSearchParams, field: string): number | null | undefined {
  const value = params.get(MYSQL_FAILBACK_PARAM);
  if (value === null) return undefined;
  if (value === 'never') return null;
  const ms = parseDurationMs(value);
  if (!Number.isFinite(ms) || ms < 0) throw new ConfigError(field, `${MYSQL_FAILBACK_PARAM}=${value} is neither a duration like 30s nor never`);
  return ms;
}

/**
 * TLS settings a `mysqlUrl` may carry in its query, so a URL alone can say
 * everything (child processes given WATCHED_MYSQL_URL, one-shot commands):
 * `ssl=true` (TLS with the system CAs), `ssl-ca=FILE`, `ssl-cert=FILE`,
 * `ssl-key=FILE` (client certificate), `ssl-verify=false` (encrypt without
 * checking the server's certificate and name). The `--mysql-ssl-*` options
 * win over these.
 */
export const MYSQL_TLS_PARAMS = { enable: 'ssl', ca: 'ssl-ca', cert: 'ssl-cert', key: 'ssl-key', verify: 'ssl-verify' } as const;

/** The connection options that win over what the URL says. */
export interface ConnectionOverrides {
  password?: string;
  tls?: TlsOverrides;
}

/** `ssl=required` is how other MySQL clients spell "TLS on". */
const REQUIRED = ['required'];

/**
 * The one parser of MySQL connection settings: `url` (user, password, host,
 * port, database, TLS parameters), then `overrides` (the connection options)
 * on top; TLS files are read here, so a missing one stops start-up naming
 * its option. `field` is the URL's option name in errors.
 */
export function compileMysqlConnection(url: string, overrides: ConnectionOverrides = {}, field = 'mysqlUrl'): MysqlConnectionOptions {
  const parts = splitConnectionUrl(url, field);
  if (parts.scheme !== 'mysql') throw new ConfigError(field, `expected a mysql:// URL, got ${parts.scheme}://`);
  const p = MYSQL_TLS_PARAMS;
  const files = tlsFiles(parts.params, p, overrides.tls ?? {}, field);
  const enabled = urlFlag(parts.params, p.enable, field, REQUIRED) ?? Boolean(files.files.ca || files.files.cert);
  const verify = overrides.tls?.verify?.value ?? urlFlag(parts.params, p.verify, field, REQUIRED) ?? true;
  const failback = failbackAfterMs(parts.params, field);
  return {
    hosts: everyHost(parts, field, { host: '127.0.0.1', port: 3306 }),
    user: parts.username ?? 'root',
    password: overrides.password ?? parts.password ?? '',
    ...(parts.path ? { database: databaseName(parts.path, field) } : {}),
    ...(enabled ? { tls: readClientTls(files, verify) } : {}),
    ...(failback !== undefined ? { failbackAfterMs: failback } : {}),
  };
}

/**
 * The database of the URL, refused by name when no database can be called
 * so (the migrator backquotes it as quoteIdentifier does), rather than
 * accepted and then retried forever as `Unknown database`.
 */
function databaseName(name: string, field: string): string {
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(name)) {
    throw new ConfigError(field, `database name ${JSON.stringify(name.slice(0, 80))} is not allowed: letters, digits, _ and $ only (1-64)`);
  }
  return name;
}

/** The same connection to another database (undefined: the server alone). */
export function withDatabase(target: MysqlConnectionOptions, database: string | undefined): MysqlConnectionOptions {
  const { database: _previous, ...server } = target;
  return database === undefined ? server : { ...server, database };
}

/** `user@host:port/database`, for messages: never the password. */
export function describeMysqlTarget(target: MysqlConnectionOptions): string {
  return `${target.user}@${target.hosts.map((h) => `${h.host}:${h.port}`).join(',')}/${target.database ?? ''}`;
}
